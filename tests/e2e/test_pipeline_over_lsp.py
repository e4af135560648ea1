"""End to end: the completion pipeline's decisions as an editor sees them over stdio."""

from __future__ import annotations

import pytest

from tests.e2e.raw import RawServer
from tests.e2e.session import ServerSession


@pytest.fixture(scope="module")
def session():
    session = ServerSession()
    assert session.wait_loaded()["state"] == "ready"
    yield session
    session.close()


def last(session: ServerSession) -> dict:
    return session.run(session.client.status())["stats"]["last"]


def test_no_completion_inside_a_string(session):
    uri = "file:///proj/strings.py"
    session.client.open(uri, 'label = "hello wor"\n')
    assert session.complete(uri, 0, len('label = "hello wor')) == []
    assert last(session)["mode"] == "none" and "string" in last(session)["reason"]


def test_another_language_gets_no_completion_and_no_error(session):
    uri = "file:///proj/main.rs"
    session.client.open(uri, "fn main() {\n    let x = \n}\n", language_id="rust")
    assert session.complete(uri, 1, 12) == []
    assert "not Python" in last(session)["reason"]


def test_a_huge_document_is_answered_with_nothing(session):
    uri = "file:///proj/huge.py"
    session.client.open(uri, "x = 1\n" * 900_000)  # 5.4 MB
    assert session.complete(uri, 899_999, 5) == []
    assert "MB" in last(session)["reason"]


def test_definitions_imported_from_another_open_document_reach_the_prompt(session):
    session.client.open("file:///proj/pkg/helpers.py",
                        'def parse_config(path, strict=False):\n    """Read a config file."""\n    return {}\n')
    uri = "file:///proj/pkg/main.py"
    session.client.open(uri, "from .helpers import parse_config\n\n\ndef main():\n    config = \n")
    session.complete(uri, 4, 13)
    assert last(session)["snippets"] == ["helpers.py:parse_config"]


def test_incremental_changes_keep_the_tree_in_step(session):
    uri = "file:///proj/typing.py"
    session.client.open(uri, "def f(x):\n    return x\n")
    session.client.change(uri, 'def f(x):\n    s = "abc\n    return x\n', version=2)
    assert session.complete(uri, 1, len('    s = "ab')) == []  # inside the new string
    session.client.change(uri, "def f(x):\n    s = 1\n    return x\n", version=3)
    session.complete(uri, 1, len("    s = 1"))
    assert last(session)["mode"] == "single-line"


def test_a_message_that_is_not_utf8_is_dropped_with_a_message_and_the_server_goes_on():
    server = RawServer()
    try:
        server.initialize()
        server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": "file:///a.py", "languageId": "python", "version": 1, "text": "x = 1\n"}}})
        server.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": "file:///a.py", "version": 2}, "contentChanges": [{"text": "x = 'AB'\n"}]}},
            replace=(b"AB", b"\xff\xfe"))
        server.send({"jsonrpc": "2.0", "id": 2, "method": "tandem/status", "params": {}})
        response, before = server.receive_response(2)
        assert any("not valid UTF-8" in m.get("params", {}).get("message", "") for m in before)
        assert response["result"]["version"]  # still answering
    finally:
        server.close()


def test_a_client_that_stops_reading_does_not_take_the_server_down():
    server = RawServer()
    try:
        server.initialize()
        for request_id in range(1, 401):  # ~1 MB of status answers that nobody reads yet
            server.send({"jsonrpc": "2.0", "id": request_id, "method": "tandem/status", "params": {}})
        answered = {server.receive_response(request_id)[0]["id"] for request_id in range(1, 401)}
        assert answered == set(range(1, 401))
        server.send({"jsonrpc": "2.0", "id": 401, "method": "tandem/status", "params": {}})
        assert server.receive_response(401)[0]["result"]["state"]
    finally:
        server.close()


def test_a_forced_format_the_tokenizer_cannot_do_falls_back_to_plain_with_a_message(session):
    session.client.configure({"promptFormat": "starcoder"})
    try:
        uri = "file:///proj/forced.py"
        session.client.open(uri, "def area(r):\n    return 3.14 * r\n\nx = area(")
        session.complete(uri, 3, 9)
        message = session.wait_message("promptFormat 'starcoder' needs the tokens")
        assert "plain left context" in message
        assert last(session)["promptFormat"] == "plain"
    finally:
        session.client.configure({"promptFormat": "auto"})


def test_a_client_that_never_sends_initialized_still_gets_models_at_its_first_request():
    server = RawServer()
    try:
        server.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}})
        server.receive_response(0)  # and no `initialized`
        server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": "file:///a.py", "languageId": "python", "version": 1, "text": "def square(x):\n    return "}}})
        server.send({"jsonrpc": "2.0", "id": 1, "method": "textDocument/inlineCompletion", "params": {
            "textDocument": {"uri": "file:///a.py"}, "position": {"line": 1, "character": 11},
            "context": {"triggerKind": 1}}})
        response, _ = server.receive_response(1)
        assert response["result"]["items"][0]["insertText"].strip()
        server.send({"jsonrpc": "2.0", "id": 2, "method": "tandem/status", "params": {}})
        assert server.receive_response(2)[0]["result"]["state"] == "ready"
    finally:
        server.close()
