"""`tandem serve --tcp`: headless, on loopback, as in a dev container."""

import asyncio
import socket
import subprocess
import sys
import time

from lsprotocol import types

from lsp_server.client import TandemClient
from tests.conftest import ROOT
from tests.e2e.session import ServerSession


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TokenSession(ServerSession):
    """A session whose `initialize` carries an access token, as the editors send it."""

    def __init__(self, settings: dict | None, tcp: tuple[str, int], token: str) -> None:
        self.runner = asyncio.Runner()
        self.client = TandemClient([])
        send = self.client.client.initialize_async

        async def initialize_async(params: types.InitializeParams):
            params.initialization_options = {**(params.initialization_options or {}), "token": token}
            return await send(params)

        self.client.client.initialize_async = initialize_async
        try:
            self.run(self.client.connect(*tcp, settings))
        except BaseException:
            self.runner.close()
            raise


def connect(server: subprocess.Popen, port: int, settings: dict | None = None,
            token: str | None = None) -> ServerSession:
    deadline = time.monotonic() + 60
    while True:  # retry until it listens
        try:
            if token is not None:
                return TokenSession(settings, ("127.0.0.1", port), token)
            return ServerSession(settings, tcp=("127.0.0.1", port))
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
            time.sleep(0.2)


def test_editors_attach_over_tcp_one_after_another_without_a_restart():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    load_seconds = []
    try:
        for attempt in range(2):
            # The raw text (postprocess off): the tiny embedded model's body here need not be
            # valid Python, which the server would rightly not show; this test is about TCP.
            session = connect(server, port, {"postprocess": False})
            try:
                assert session.wait_loaded()["state"] == "ready"
                session.client.open("file:///virtual/tcp.py", "def square(x):\n    ")
                items = session.complete("file:///virtual/tcp.py", 1, 4)
                assert items and items[0].insert_text.strip()  # the models answer
                status = session.run(session.client.status())
                assert status["stats"]["requests"] == 1  # each connection has its own statistics
                load_seconds.append(status["models"]["target"]["loadSeconds"])
            finally:
                session.close()  # shutdown + exit: ends this connection only
            assert server.poll() is None
        assert load_seconds[0] == load_seconds[1]  # the same models: loaded once, kept warm
    finally:
        server.kill()
        server.wait()
