"""`tandem serve --tcp`: headless, on loopback, as in a dev container."""

import socket
import subprocess
import sys
import time

from tests.conftest import ROOT
from tests.e2e.session import ServerSession


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_editor_attaches_over_tcp_and_gets_a_completion():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:  # retry until it listens (a bare probe connection would be its one client)
            try:
                session = ServerSession(tcp=("127.0.0.1", port))
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.2)
        try:
            assert session.wait_loaded()["state"] == "ready"
            session.client.open("file:///virtual/tcp.py", "def square(x):\n    ")
            items = session.complete("file:///virtual/tcp.py", 1, 4)
            assert isinstance(items, list)
            assert session.run(session.client.status())["stats"]["requests"] == 1
        finally:
            session.close()
    finally:
        server.kill()
        server.wait()
