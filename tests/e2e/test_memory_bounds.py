"""Memory is bounded: the protocol keeps nothing per notification, and open documents have
an overall cap, said clearly when reached. Against the real server in this process, where
its bookkeeping can be counted (sizes of containers, never timings)."""

from __future__ import annotations

import pytest

from completion import documents
from tests.e2e.session import InProcessServer, no_models


@pytest.fixture
def server():
    with no_models():
        server = InProcessServer()
        yield server
        server.stop()


def open_doc(server: InProcessServer, uri: str, text: str) -> None:
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                            "text": text}})


def change(uri: str, version: int, text: str, at: tuple[int, int] | None = None) -> dict:
    content = {"text": text} if at is None else {
        "range": {"start": {"line": at[0], "character": at[1]}, "end": {"line": at[0], "character": at[1]}},
        "text": text}
    return {"jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [content]}}


def complete(server: InProcessServer, uri: str, line: int, character: int) -> dict:
    return server.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
        "context": {"triggerKind": 2}})


def test_20000_changes_leave_no_bookkeeping_in_the_protocol(server):
    protocol = server.server.protocol
    uri = "file:///memory/typing.py"
    open_doc(server, uri, "x = 1\n")
    server.request("tandem/status", {})
    futures, result_types = len(protocol._request_futures), len(protocol._result_types)
    for batch in range(20):  # 20,000 keystrokes, half full texts and half incremental
        server.send(*(change(uri, 2 + batch * 1000 + i, "y", at=(0, 0)) if i % 2 else
                      change(uri, 2 + batch * 1000 + i, f"x = {i}\n") for i in range(1000)))
    assert len(protocol._request_futures) == futures == 0
    assert len(protocol._result_types) == result_types
    assert server.server.open_document(uri).version == 20_001
    assert server.server.open_document(uri).source == "yx = 998\n"
    assert complete(server, uri, 0, 1)["result"] == {"items": []}  # no models here: answered, empty
    assert len(protocol._request_futures) == 0


def test_open_documents_over_the_overall_cap_are_not_tracked_and_it_is_said(server, monkeypatch):
    monkeypatch.setattr(documents, "MAX_OPEN_CHARS", 1000)
    open_doc(server, "file:///memory/first.py", "a = 1\n" * 100)   # 600 characters
    open_doc(server, "file:///memory/second.py", "b = 2\n" * 100)  # 1,200 together: over
    assert server.server.open_document("file:///memory/second.py") is None
    assert server.server.trees.chars == 600
    [message] = [m for m in server.messages() if "second.py" in m]
    assert "not tracked" in message and "over the limit of" in message and "close some" in message
    assert complete(server, "file:///memory/second.py", 0, 0)["result"] == {"items": []}
    server.notify("textDocument/didClose", {"textDocument": {"uri": "file:///memory/first.py"}})
    open_doc(server, "file:///memory/second.py", "b = 2\n" * 100)  # room again
    assert server.server.open_document("file:///memory/second.py").source == "b = 2\n" * 100
    assert "file:///memory/second.py" not in server.server.refused


def test_a_change_that_would_pass_the_cap_is_not_applied(server, monkeypatch):
    monkeypatch.setattr(documents, "MAX_DOCUMENT_CHARS", 1000)
    uri = "file:///memory/growing.py"
    open_doc(server, uri, "x = 1\n")
    server.send(change(uri, 2, "#" * 2000, at=(1, 0)))  # incremental sync lets one document grow past any frame cap
    assert server.server.open_document(uri).source == "x = 1\n"
    assert any("growing.py is out of sync" in m and "too large" in m for m in server.messages())
    server.send(change(uri, 3, "x = 2\n"))  # a whole text that fits brings it back
    assert server.server.open_document(uri).source == "x = 2\n" and uri not in server.server.refused


def test_trees_beyond_their_budget_are_dropped_oldest_first_and_rebuilt_when_completed_in(server):
    server.server.trees.max_tree_bytes = 3000
    for name in "abcd":
        open_doc(server, f"file:///memory/{name}.py", f"{name} = 1\n" * 200)  # 1,200 bytes each
    held = {name: server.server.trees.get(f"file:///memory/{name}.py").tree is not None for name in "abcd"}
    assert held == {"a": False, "b": False, "c": True, "d": True}
    assert server.server.trees.tree_bytes <= 3000
    complete(server, "file:///memory/a.py", 1, 0)  # completing in it brings its tree back
    assert server.server.trees.get("file:///memory/a.py").tree is not None
    assert server.server.trees.get("file:///memory/c.py").tree is None
