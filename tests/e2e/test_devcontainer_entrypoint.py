"""The dev container's entrypoint, run as a process here (Docker cannot run on this
machine): two editors attach over TCP one after the other, each initialises, gets a
completion from the embedded models, and leaves; the server stays up between them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.test_tcp_server import connect, free_port

ENTRYPOINT = ROOT / "editors" / "devcontainer" / "entrypoint.sh"


def test_the_entrypoint_serves_editors_one_after_another(tmp_path):
    port = free_port()
    env = {**os.environ, "TANDEM_HOST": "127.0.0.1", "TANDEM_PORT": str(port),
           "TANDEM_LOG_FILE": str(tmp_path / "server.log"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for editor in ("first", "second"):
            session = connect(server, port)
            try:
                assert session.wait_loaded()["state"] == "ready"
                uri = f"file:///workspace/{editor}.py"
                session.client.open(uri, "def area(width, height):\n    return ")
                items = session.complete(uri, 1, len("    return "))
                assert items and items[0].insert_text.strip(), f"{editor} editor got no completion"
            finally:
                session.close()
            assert server.poll() is None, server.stderr.read()
    finally:
        server.kill()
        server.wait()
