"""End to end: the completion pipeline's decisions as an editor sees them over stdio."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lsp_server.framing import Framer
from tests.conftest import ROOT
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


def request(server: RawServer, request_id: int, method: str, params) -> dict:
    server.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
    return server.receive_response(request_id, timeout=60)[0]


INVALID_POSITIONS = {  # each names the field that does not fit
    "a negative line": ({"line": -1, "character": 0}, "$.params.position"),
    "a line that is text": ({"line": "x", "character": 0}, "$.params.position.line"),
    "a huge line": ({"line": 10**12, "character": 0}, "$.params.position"),
    "no position": (None, "$.params.position"),
}


def test_every_request_with_an_id_is_answered_whatever_its_params():
    server = RawServer()
    try:
        before = request(server, 1, "tandem/status", {})
        assert before["error"]["code"] == -32002
        server.initialize()
        server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": "file:///a.py", "languageId": "python", "version": 1, "text": "x = 1\n"}}})
        for request_id, (position, field) in enumerate(INVALID_POSITIONS.values(), 10):
            answer = request(server, request_id, "textDocument/inlineCompletion", {
                "textDocument": {"uri": "file:///a.py"}, "position": position, "context": {"triggerKind": 1}})
            assert answer["error"]["code"] == -32602 and field in answer["error"]["message"], answer
        missing = request(server, 20, "textDocument/inlineCompletion",
                          {"position": {"line": 0, "character": 0}, "context": {"triggerKind": 1}})
        assert missing["error"]["code"] == -32602 and "$.params.text_document" in missing["error"]["message"]
        assert request(server, 21, "textDocument/inlineCompletion", "hello")["error"]["code"] == -32602
        assert request(server, 22, "tandem/status", {})["result"]["version"]  # and the server goes on
        assert request(server, 23, "shutdown", None)["result"] is None
        assert request(server, 24, "tandem/status", {})["error"]["code"] == -32600
        server.send({"jsonrpc": "2.0", "method": "exit"})
        assert server.process.wait(30) == 0
    finally:
        server.close()


def test_exit_without_shutdown_ends_with_1():
    server = RawServer()
    try:
        server.initialize()
        server.send({"jsonrpc": "2.0", "method": "exit"})
        assert server.process.wait(60) == 1
    finally:
        server.close()


def status_request(request_id: int) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tandem/status", "params": {}}


def test_badly_framed_messages_never_make_the_server_deaf_and_a_huge_one_never_kills_it():
    server = RawServer()
    try:
        server.initialize()
        # Content-Length 5 bytes too large: the next header ends it, and both are answered.
        server.send(status_request(1), length_delta=+5)
        server.send(status_request(2))
        assert server.receive_response(1, timeout=60)[0]["result"]["version"]
        assert server.receive_response(2, timeout=60)[0]["result"]["version"]
        # Counted in characters, not UTF-8 bytes (too small): that request gets a parse error.
        server.send({"jsonrpc": "2.0", "id": 3, "method": "tandem/status", "params": {"note": "ünïcødé"}},
                    length_delta=-6)
        server.send(status_request(4))
        assert server.receive_response(3, timeout=60)[0]["error"]["code"] == -32700
        assert server.receive_response(4, timeout=60)[0]["result"]["version"]
        # An absurd length: dropped with a message, not allocated, and reading goes on.
        told = []
        for request_id, huge in ((5, 10**12), (6, 10**30)):
            server.send_bytes(b"Content-Length: %d\r\n\r\n{}" % huge)
            server.send(status_request(request_id))
            answer, before = server.receive_response(request_id, timeout=60)
            assert answer["result"]["version"] and server.process.poll() is None
            told += [m["params"]["message"] for m in before if m.get("method") == "window/showMessage"]
        assert any("over the limit of 33,554,432" in message for message in told)
    finally:
        server.close()


def test_over_tcp_a_huge_length_is_dropped_and_the_connection_goes_on():
    import socket
    import time

    from tests.e2e.test_tcp_server import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        with connection:
            def send(message: dict) -> None:
                body = json.dumps(message).encode()
                connection.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

            send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}})
            connection.sendall(b"Content-Length: %d\r\n\r\n" % 10**12 + b"x" * 2**20)  # 1 MB of it, then more
            send(status_request(1))
            connection.settimeout(60)
            framer, answers = Framer(), {}
            while 1 not in answers:
                chunk = connection.recv(65536)
                assert chunk, "the connection closed"
                for event in framer.feed(chunk):
                    message = json.loads(event.body)
                    if "method" not in message:
                        answers[message["id"]] = message
            assert answers[1]["result"]["version"]
            assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def _framed(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_a_request_is_read_against_the_text_it_was_sent_for_whatever_follows_it():
    # Fast typing puts a request and the next change (or a didClose) in one read. pygls
    # starts an async handler as a task, after the rest of the read was applied: the request
    # then found its document closed ("not open", -32602) or a newer text than it was for.
    server = RawServer()
    try:
        server.initialize()
        uri = "file:///fast.py"
        opened = {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": "def f(x):\n    return x\n"}}}
        for request_id in (1, 2, 3):
            asked = {"jsonrpc": "2.0", "id": request_id, "method": "textDocument/inlineCompletion", "params": {
                "textDocument": {"uri": uri}, "position": {"line": 1, "character": 12},
                "context": {"triggerKind": 2}}}
            closed = {"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}}
            server.send_bytes(_framed(opened) + _framed(asked) + _framed(closed))  # one write, one read
            answer = server.receive_response(request_id, timeout=120)[0]
            assert "result" in answer, answer  # answered (with nothing: its document closed), not an error
    finally:
        server.close()
