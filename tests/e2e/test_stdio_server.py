"""End to end: `tandem serve` as a subprocess over stdio, the embedded pair, real LSP."""

from __future__ import annotations

import shlex
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.conftest import ROOT, save_tiny_checkpoint
from tests.e2e.session import ServerSession

DEMO = ROOT / "examples" / "demo.py"


@pytest.fixture(scope="module")
def server_log(tmp_path_factory):
    return tmp_path_factory.mktemp("logs") / "server.log"


@pytest.fixture(scope="module")
def session(server_log):
    # -v: info logs flow during every test, and must never reach the LSP stream on stdout.
    session = ServerSession(server_args=["-v", "--log-file", str(server_log)])
    assert session.wait_loaded()["state"] == "ready"
    yield session
    session.close()


def test_model_loading_is_reported_with_progress(session):
    assert session.client.progress[0] == "begin" and session.client.progress[-1] == "end"


def open_text(session: ServerSession, name: str, text: str) -> str:
    uri = f"file:///virtual/{name}"
    session.client.open(uri, text)
    return uri


def test_completes_a_real_file_with_the_embedded_target(session):
    # "return json." typed in the demo's `with` body: the embedded model writes valid Python
    # there (in the empty body it writes none, and nothing is shown).
    uri = DEMO.resolve().as_uri()
    session.client.open(uri, DEMO.read_text().rstrip() + "\n        return json.\n")
    items = session.complete(uri, 9, 20)
    assert len(items) == 1 and items[0].insert_text.strip()
    assert (items[0].range.start.line, items[0].range.start.character) == (9, 20)
    status = session.run(session.client.status())
    assert status["models"]["target"]["path"].endswith("models/embedded/target")
    assert status["stats"]["last"]["promptFormat"] == "embedded"
    assert status["stats"]["last"]["mode"] == "single-line"
    assert status["stats"]["answered"] >= 1 and status["stats"]["latencyMs"]["p50"] > 0


def test_one_structured_log_line_per_request(session, server_log):
    uri = open_text(session, "logged.py", "import os\n\nprint(os.")
    session.complete(uri, 2, 9)
    lines = [line for line in server_log.read_text().splitlines() if "uri=file:///virtual/logged.py" in line]
    assert len(lines) == 1
    keys = ("request", "promptTokens", "newTokens", "accepted", "drafted", "stopReason", "latencyMs",
            "stageMs.generate")
    assert all(f" {key}=" in f" {lines[0]}" for key in keys)
    # logfmt: one shell-style token per field, whatever the text in it
    fields = dict(field.split("=", 1) for field in shlex.split(lines[0].split(" request=", 1)[1])[1:])
    assert float(fields["stageMs.generate"]) >= 0 and int(fields["newTokens"]) >= 0 and fields["reason"]


def test_document_never_opened(session):
    with pytest.raises(JsonRpcException, match="is not open: send textDocument/didOpen first"):
        session.complete("file:///virtual/never-opened.py", 0, 0)


def test_position_past_the_end(session):
    uri = open_text(session, "short.py", "x = 1\n")
    with pytest.raises(JsonRpcException, match="line 7 is past the end of the document"):
        session.complete(uri, 7, 0)
    assert session.complete(uri, 1, 0) is not None  # and the server keeps serving


def test_file_with_a_syntax_error(session):
    uri = open_text(session, "broken.py", "def broken(:\n    return [1, 2\n\nvalue = broken(")
    items = session.complete(uri, 3, 15)
    assert isinstance(items, list)
    assert session.run(session.client.status())["stats"]["last"]["syntaxError"] is True


def test_non_ascii_before_the_cursor(session):
    text = 'greeting = "héllo 😀 世界"\nname = greeting.upp'
    uri = open_text(session, "unicode.py", text)
    # UTF-16: the emoji counts two units; the cursor is at the end of line 1
    items = session.complete(uri, 1, len("name = greeting.upp"))
    for item in items:
        assert (item.range.start.line, item.range.start.character) == (1, 19)
    last = session.run(session.client.status())["stats"]["last"]
    assert last["mode"] == "single-line" and last["syntaxError"] is False


def test_invalid_settings_are_reported_and_the_rest_applied(session):
    session.client.configure({"maxNewTokens": -1, "multiline": "sometimes", "contextTokens": 256})
    session.wait_message("tandem.maxNewTokens = -1 is invalid")
    session.wait_message("tandem.multiline = 'sometimes' is invalid")
    settings = session.run(session.client.status())["settings"]
    assert settings["maxNewTokens"] == 64 and settings["multiline"] == "auto"
    assert settings["contextTokens"] == 256
    session.client.configure({"contextTokens": 1024})


def test_newest_request_for_a_document_wins(session):
    import asyncio

    session.client.configure({"debounceMs": 300})
    uri = open_text(session, "typing.py", "def f(x):\n    ")

    async def two_requests():
        older = asyncio.ensure_future(session.client.inline_completion(uri, 1, 4))
        await asyncio.sleep(0.05)
        newer = asyncio.ensure_future(session.client.inline_completion(uri, 1, 4))
        return await older, await newer

    try:
        cancelled_before = session.run(session.client.status())["stats"]["cancelled"]
        older, newer = session.run(two_requests())
        assert older == []  # superseded while it waited: no stale text
        assert session.run(session.client.status())["stats"]["cancelled"] == cancelled_before + 1
    finally:
        session.client.configure({"debounceMs": 0})


def test_missing_target_directory_keeps_the_server_up_until_fixed(tmp_path):
    session = ServerSession({"targetModel": str(tmp_path / "no-such-model")})
    try:
        status = session.wait_loaded()
        assert status["state"] == "error" and "does not exist" in status["error"]
        session.wait_message("target model directory")
        uri = open_text(session, "a.py", "def f():\n    ")
        assert session.complete(uri, 1, 4) == []
        session.client.configure({"targetModel": ""})  # back to the embedded target
        assert session.wait_state(("ready",))["state"] == "ready"
        assert session.complete(uri, 1, 4) is not None
    finally:
        session.close()


def test_draft_with_a_foreign_tokenizer_is_refused(tmp_path):
    foreign = save_tiny_checkpoint(tmp_path / "foreign", fim=False)
    session = ServerSession({"draftModel": str(foreign)})
    try:
        status = session.wait_loaded()
        assert status["state"] == "error"
        assert "draft tokenizer" in session.wait_message("does not match the target's")
    finally:
        session.close()


def test_cuda_requested_without_a_gpu_falls_back_and_says_so():
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    session = ServerSession({"device": "cuda"})
    try:
        status = session.wait_loaded()
        assert status["state"] == "ready" and status["models"]["device"] == "cpu"
        assert "Using cpu instead" in session.wait_message("sees no CUDA/ROCm device")
    finally:
        session.close()


def test_npu_requested_without_amds_provider_falls_back_and_names_what_to_install():
    session = ServerSession({"device": "npu"})
    try:
        status = session.wait_loaded()
        assert status["state"] == "ready" and status["models"]["device"] == "cpu"
        message = session.wait_message("VitisAIExecutionProvider")
        assert "Ryzen AI software" in message and "Using cpu instead" in message
    finally:
        session.close()


@pytest.mark.parametrize("uri", [
    "file:///home/me/my%20project/%C3%BCber%20file.py",  # a space and a non-ASCII letter, as editors send them
    "file:///c%3A/Users/me/project/main.py",              # every file from VS Code on Windows
])
def test_documents_whose_uri_holds_percent_escapes_are_completed(session, uri):
    session.client.open(uri, "def square(x):\n    return ")
    items = session.complete(uri, 1, len("    return "))
    assert items and items[0].insert_text.strip()
    session.client.change(uri, "def square(x):\n    return x", version=2)  # changes reach it too
    items = session.complete(uri, 1, len("    return x"))
    assert isinstance(items, list)
    assert session.run(session.client.status())["stats"]["last"]["promptTokens"] > 0
    session.client.close(uri)


SPECIAL_STRINGS = ["<s>", "</s>", "<PRE>", "<SUF>", "<MID>", "<EOT>", "▁<PRE>", "<FILL_ME>", "<fim_prefix>",
                   "<fim_middle>", "<|endoftext|>", "<|fim_prefix|>", "<｜fim▁begin｜>"]


@pytest.mark.parametrize("draft_tokens", ["auto", 0])
def test_a_buffer_that_spells_special_tokens_is_text(session, draft_tokens):
    session.client.configure({"draftTokens": draft_tokens})
    try:
        lines = [f"MARKERS_{i} = {s!r}  # {s}" for i, s in enumerate(SPECIAL_STRINGS)]
        uri = open_text(session, f"special_{draft_tokens}.py", "\n".join(lines) + "\n\n\ndef f(x):\n    return ")
        items = session.complete(uri, len(lines) + 3, len("    return "))
        assert isinstance(items, list)
        last = session.run(session.client.status())["stats"]["last"]
        assert last["mode"] == "single-line" and last["newTokens"] > 0 and last["stopReason"] != "error"
    finally:
        session.client.configure({"draftTokens": "auto"})


def test_a_lone_surrogate_in_the_buffer_does_not_fail_requests(session):
    uri = open_text(session, "surrogate.py", "label = '\ud83d'\n\ndef f(x):\n    return ")
    items = session.complete(uri, 3, len("    return "))
    assert isinstance(items, list)
    assert session.run(session.client.status())["stats"]["last"]["newTokens"] > 0


def change_range(session: ServerSession, uri: str, version: int, start: tuple[int, int], end: tuple[int, int],
                 text: str) -> None:
    """One incremental change, as VS Code and Neovim send them."""
    session.client.client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [types.TextDocumentContentChangePartial(range=types.Range(types.Position(*start), types.Position(*end)),
                                                text=text)]))


def test_incremental_changes_are_offered_and_applied_in_utf16(session):
    uri = open_text(session, "incremental.py", "def add(a, b):\n    return a\n")
    change_range(session, uri, 2, (0, 0), (0, 0), "# 😀 the sum\n")
    change_range(session, uri, 3, (0, 4), (0, 4), "!")  # after the emoji: UTF-16 counts it as two
    change_range(session, uri, 4, (2, 12), (2, 12), " + ")
    items = session.complete(uri, 2, len("    return a + "))
    assert all((i.range.start.line, i.range.start.character) == (2, 15) for i in items)
    last = session.run(session.client.status())["stats"]["last"]
    assert last["mode"] != "none" and last["promptTokens"] > 0


def test_a_change_outside_the_text_stops_completions_in_it_until_its_whole_text_comes(session):
    uri = open_text(session, "desync.py", "x = 1\n")
    change_range(session, uri, 2, (9, 0), (9, 0), "y = 2\n")
    message = session.wait_message("desync.py is out of sync")
    assert "line 9 is past the end of the document" in message and "close and reopen it" in message
    answered = session.run(session.client.status())["stats"]["answered"]
    assert session.complete(uri, 0, 5) == []
    assert session.run(session.client.status())["stats"]["answered"] == answered  # refused, not run
    session.client.change(uri, "def f(x):\n    return ", version=3)  # a whole text: in sync again
    session.complete(uri, 1, len("    return "))
    assert session.run(session.client.status())["stats"]["answered"] == answered + 1
