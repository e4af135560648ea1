"""The Neovim plugin (editors/neovim) in real headless Neovim 0.12: its setup() over stdio,
accept whole, accept line, :checkhealth, and attaching to `tandem serve --tcp`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.e2e.test_tcp_server import free_port
from tests.editors.test_neovim import run_neovim

pytestmark = pytest.mark.editor
DEMO = (ROOT / "examples" / "demo.py").read_text().rstrip() + "\n"
# A loop body the embedded model fills with a valid block of several lines (in the demo's
# empty `with` body it writes nothing valid, so nothing is shown there).
LISTING = (
    "import os\n\n\n"
    "def list_files(directory):\n"
    '    """Return the names of the files in directory."""\n'
    "    names = []\n"
    "    for name in os.listdir(directory):\n"
)


def test_setup_shows_ghost_text_and_accepts_it_whole(tmp_path):
    outcome = run_neovim(tmp_path, DEMO, line=9, keys="oreturn json.", init="plugin_init.lua",
                         extra_env={"TANDEM_ACCEPT": "plugin", "TANDEM_HEALTH": "1"})
    assert outcome.get("error") is None, outcome
    assert outcome["ghost"].strip() and outcome["accepted"] is True
    assert outcome["after"] == outcome["before"] + outcome["ghost"]
    health = outcome["health"]
    assert "can import Tandem" in health and "server attached: ready" in health, health


def test_accept_line_takes_the_first_line_of_a_block(tmp_path):
    # No time budget: on a loaded machine the budget would cut the block to its first line.
    outcome = run_neovim(tmp_path, LISTING, line=7, keys="o", init="plugin_init.lua", settings={"timeBudgetMs": 0},
                         extra_env={"TANDEM_ACCEPT": "line"})
    assert outcome.get("error") is None, outcome
    ghost, before, after = outcome["ghost"], outcome["before"], outcome["after"]
    if "\n" not in ghost:
        pytest.fail(f"the model offered one line here, so accept-line was not exercised: {ghost!r}")
    first, rest = ghost.split("\n", 1)
    indentation = rest[: len(rest) - len(rest.lstrip(" \t"))]
    assert after == before + first + "\n" + indentation, outcome


def test_setup_with_an_address_attaches_to_a_tcp_server(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:  # until it listens (a probe is just one more editor coming and going)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        outcome = run_neovim(tmp_path, DEMO, line=9, keys="oreturn json.", init="plugin_init.lua",
                             extra_env={"TANDEM_ADDRESS": f"127.0.0.1:{port}", "TANDEM_ACCEPT": "plugin"})
        assert outcome.get("error") is None, outcome
        assert outcome["ghost"].strip() and outcome["after"] == outcome["before"] + outcome["ghost"]
        assert server.poll() is None  # the editor's exit ended its connection, not the server
    finally:
        server.kill()
        server.wait()
