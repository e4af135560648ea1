"""`tandem serve --tcp` exposed to a network: an access token before anything else, a
connection limit, bounded memory per connection, and nothing kept of closed connections.

The server runs as a process where what matters is what a real peer sees (refusals,
logs, memory), and in this process where what matters is what it holds (weakrefs)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest

from lsp_server import tcp
from lsp_server.cli import access_token, main
from lsp_server.model_host import ModelHost
from lsp_server.server import create_server
from tests.conftest import ROOT
from tests.e2e.test_tcp_server import free_port

TOKEN = "4f2b8c1e-the-access-token-9d7a"


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def initialize(request_id: int = 1, token: str | None = None) -> dict:
    options = {"tandem": {}} | ({"token": token} if token is not None else {})
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize",
            "params": {"capabilities": {}, "processId": None, "initializationOptions": options}}


class Peer:
    """A client speaking raw bytes over one socket, with deadlines."""

    def __init__(self, port: int, deadline: float = 60) -> None:
        end = time.monotonic() + deadline
        while True:
            try:
                self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < end, "the server never listened"
                time.sleep(0.2)
        self.buffer = b""

    def send(self, message: dict) -> None:
        self.socket.sendall(frame(message))

    def receive(self, timeout: float = 60) -> dict | None:
        """The next message, or None when the server closed the connection."""
        self.socket.settimeout(timeout)
        while b"\r\n\r\n" not in self.buffer:
            if not (chunk := self.socket.recv(65536)):
                return None
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        while len(self.buffer) < length:
            if not (chunk := self.socket.recv(65536)):
                return None
            self.buffer += chunk
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return json.loads(body)

    def response(self, request_id: int, timeout: float = 60) -> tuple[dict | None, list[dict]]:
        """The answer to `request_id` (None if the connection closed first), and what came before."""
        others = []
        while (message := self.receive(timeout)) is not None:
            if message.get("id") == request_id and "method" not in message:
                return message, others
            others.append(message)
        return None, others

    def closed(self, timeout: float = 10) -> bool:
        """Whether the server closes the connection (reading on past anything it still sends)."""
        self.socket.settimeout(timeout)
        try:
            while self.socket.recv(65536):
                pass
            return True
        except (TimeoutError, socket.timeout):
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def server_with_token(tmp_path):
    """A TCP server that needs TOKEN (from --token-file), logging everything to a file."""
    token_file, log_file = tmp_path / "token", tmp_path / "server.log"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "TANDEM_TOKEN"}
    process = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port),
                                "--token-file", str(token_file), "-vv", "--log-file", str(log_file)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield port, log_file, process
    finally:
        process.kill()
        process.wait()


# -- the access token ---------------------------------------------------------------------

def test_only_an_initialize_with_the_token_is_served_and_the_token_is_never_logged(server_with_token):
    port, log_file, process = server_with_token
    refusals = [
        {"jsonrpc": "2.0", "id": 7, "method": "tandem/status", "params": {}},  # anything before initialize
        initialize(7),  # no token
        initialize(7, token="not-" + TOKEN),  # a wrong one
        initialize(7, token=TOKEN[:-1]),  # a prefix of the right one
    ]
    for message in refusals:
        peer = Peer(port)
        try:
            peer.send(message)
            # What follows must not be handled either: it is never answered.
            peer.send({"jsonrpc": "2.0", "id": 8, "method": "shutdown"})
            answer, _ = peer.response(7)
            assert answer["error"]["code"] == tcp.NEEDS_TOKEN, answer
            assert "needs an access token" in answer["error"]["message"]
            assert peer.response(8) == (None, [])  # closed, and 8 never answered
        finally:
            peer.close()
    peer = Peer(port)
    try:
        peer.send(initialize(1, token=TOKEN))
        answer, _ = peer.response(1)
        assert "capabilities" in answer["result"], answer
        peer.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        assert peer.response(2)[0]["result"] is None
        peer.send({"jsonrpc": "2.0", "method": "exit"})
        assert peer.closed()
    finally:
        peer.close()
    assert process.poll() is None
    log = log_file.read_text()
    assert log.count("refused the editor") == len(refusals) and "Language server initialized" in log
    assert TOKEN not in log and TOKEN[:-1] not in log  # -vv logs initialize's params, without the token


def test_a_connection_that_never_initializes_is_closed(monkeypatch):
    monkeypatch.setattr(tcp, "ADMIT_SECONDS", 0.5)

    async def scenario() -> bool:
        listener = await tcp.listen("127.0.0.1", 0, lambda **kw: create_server({}, **kw), ModelHost(), TOKEN)
        port = listener.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            closed = await asyncio.wait_for(reader.read(), 10) == b""  # EOF, nothing said
            writer.close()
            return closed
        finally:
            listener.close()

    assert asyncio.run(scenario())


def test_beyond_loopback_the_server_refuses_to_start_without_a_token(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("TANDEM_TOKEN", raising=False)
    started = subprocess.run([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--host", "0.0.0.0",
                              "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert started.returncode == 2
    assert "0.0.0.0 can be reached from other machines" in started.stderr and "TANDEM_TOKEN" in started.stderr
    for content, reason in ((None, "cannot read the access token file"), ("  \n", "is empty")):
        path = tmp_path / "token"
        if content is not None:
            path.write_text(content)
        assert main(["serve", "--tcp", "--host", "127.0.0.1", "--port", "1", "--token-file", str(path)]) == 2
        assert reason in capsys.readouterr().err
    for argv in (["--token", TOKEN], [f"--token={TOKEN}"], ["--tok", TOKEN]):  # never a command-line value
        with pytest.raises(SystemExit):
            main(["serve", "--tcp", *argv])
        error = capsys.readouterr().err
        assert TOKEN not in error and ("never given on the command line" in error or "ambiguous" in error)


def test_the_token_comes_from_a_file_or_the_environment_and_beyond_loopback_there_is_a_warning(
        monkeypatch, capsys, caplog, tmp_path):
    monkeypatch.delenv("TANDEM_TOKEN", raising=False)
    assert access_token("127.0.0.1", None) is None  # loopback: optional
    assert access_token("localhost", None) is None
    monkeypatch.setenv("TANDEM_TOKEN", TOKEN)
    assert access_token("127.0.0.1", None) == TOKEN  # and used when given
    (tmp_path / "token").write_text(f"  {TOKEN}-file\n")
    assert access_token("0.0.0.0", tmp_path / "token") == TOKEN + "-file"  # the file wins
    assert "beyond loopback" in caplog.text and TOKEN not in caplog.text
    assert access_token("::", None) == TOKEN
    assert TOKEN not in capsys.readouterr().err


# -- limits -------------------------------------------------------------------------------

def test_one_connection_over_the_limit_is_told_why_and_closed():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port),
                                "--max-connections", "2"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peers = []
    try:
        for request_id in (1, 2):
            peers.append(Peer(port))
            peers[-1].send(initialize(request_id))
            assert "result" in peers[-1].response(request_id)[0]
        extra = Peer(port)
        extra.send(initialize(3))
        answer, before = extra.response(3)
        assert answer["error"]["code"] == tcp.TOO_MANY and "already serves 2 editors" in answer["error"]["message"]
        assert before[0]["method"] == "window/showMessage" and "--max-connections" in before[0]["params"]["message"]
        assert extra.closed()
        extra.close()
        peers.pop(0).close()  # one leaves: room for another
        time.sleep(0.5)
        again = Peer(port)
        peers.append(again)
        again.send(initialize(4))
        assert "result" in again.response(4)[0]
    finally:
        for peer in peers:
            peer.close()
        process.kill()
        _, stderr = process.communicate()
    assert b"refused the editor" in stderr and b"the limit (--max-connections)" in stderr


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def test_a_huge_content_length_over_tcp_does_not_grow_the_server(capsys):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peer = Peer(port)
    try:
        peer.send(initialize(1))
        assert "result" in peer.response(1)[0]
        before = _rss_kib(process.pid)
        peer.socket.sendall(b"Content-Length: %d\r\n\r\n" % 10**12)
        junk = b"x" * 2**20
        for _ in range(96):  # 96 MiB of it: three times the message cap, nothing of it kept
            peer.socket.sendall(junk)
        peer.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})  # the next real frame is read
        answer, told = peer.response(2, timeout=120)
        after = _rss_kib(process.pid)
        assert answer["result"] is None
        assert any("over the limit" in m["params"]["message"] for m in told if m.get("method") == "window/showMessage")
        with capsys.disabled():
            print(f"\nserver RSS {before} KiB before, {after} KiB after 96 MiB under Content-Length 10**12")
        assert after - before < 16 * 2**10, (before, after)
    finally:
        peer.close()
        process.kill()
        process.wait()


# -- closed connections leave nothing behind --------------------------------------------------

def test_servers_of_closed_connections_are_freed():
    """30 editors connect, open a document and leave (half of them politely, half by
    dropping the connection); afterwards no TandemServer of theirs is alive. (pygls'
    lru_caches kept ~30 of them, with their documents.)"""
    servers: list[weakref.ref] = []

    def make_server(**kwargs):
        server = create_server({}, **kwargs)
        servers.append(weakref.ref(server))
        return server

    async def editor(port: int, polite: bool) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(initialize(1)))
        writer.write(frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": "file:///x.py", "languageId": "python", "version": 1, "text": "def f(x):\n    return " * 50}}}))
        writer.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        if polite:
            writer.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        await writer.drain()
        data = b""
        while b'"id": 2' not in data and (chunk := await asyncio.wait_for(reader.read(65536), 30)):
            data += chunk
        writer.close()
        await writer.wait_closed()

    async def scenario() -> int:
        models = ModelHost()
        listener = await tcp.listen("127.0.0.1", 0, make_server, models)
        port = listener.sockets[0].getsockname()[1]
        try:
            for cycle in range(30):
                await editor(port, polite=cycle % 2 == 0)
            for _ in range(100):  # the server side notices each close
                await asyncio.sleep(0.05)
                gc.collect()
                if not any(ref() is not None for ref in servers):
                    break
            return sum(ref() is not None for ref in servers)
        finally:
            listener.close()
            models.shutdown()

    alive = asyncio.run(scenario())
    assert len(servers) == 30
    assert alive == 0, f"{alive} of 30 closed connections' servers are still alive"
