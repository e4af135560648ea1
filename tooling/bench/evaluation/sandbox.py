"""Execute a completed program against its tests, contained: a child Python in a fresh
temporary directory, with an audit-hook guard and resource limits (sandbox_guard.py), no
environment, no stdin, a wall-clock timeout that kills its whole process group."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.evaluation.sandbox_guard import BLOCKED_EXIT

GUARD = Path(__file__).with_name("sandbox_guard.py")

PASSED, FAILED, TIMED_OUT, BLOCKED = "passed", "failed", "timed out", "blocked"


@dataclass(frozen=True)
class Outcome:
    status: str   # passed | failed | timed out | blocked
    detail: str   # the error's last line, or what was blocked
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def run_program(source: str, timeout: float = 5.0) -> Outcome:
    """Run `source` to completion; passed means exit status 0 within `timeout` seconds."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tandem-eval-") as workdir:
        Path(workdir, "program.py").write_text(source, encoding="utf-8", errors="surrogatepass")
        marker = Path(workdir, f"done-{secrets.token_hex(8)}")
        with open(Path(workdir, "stderr"), "w+b") as stderr:
            child = subprocess.Popen(
                # The guard sets the resource limits itself: a preexec_fn is unsafe beside the
                # scoring threads that start these processes.
                [sys.executable, "-I", "-B", str(GUARD), "program.py", marker.name, str(int(timeout) + 1)],
                cwd=workdir,
                env={"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=True)
            try:
                code = child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                try:  # whatever it started goes with it
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.wait()
            stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - 4096))
            error = stderr.read().decode("utf-8", "replace")
        finished = marker.exists() and marker.read_text() == "done"
    seconds = time.perf_counter() - started
    if code is None or code in (-signal.SIGXCPU, -signal.SIGKILL):
        return Outcome(TIMED_OUT, f"no result within {timeout:g} s", seconds)
    if code == 0 and finished:
        return Outcome(PASSED, "", seconds)
    if code == 0:
        return Outcome(FAILED, "the program ended before its tests finished", seconds)
    if code == BLOCKED_EXIT:
        return Outcome(BLOCKED, _last_line(error).removeprefix("sandbox: "), seconds)
    return Outcome(FAILED, _last_line(error) or f"exit status {code}", seconds)


def program_with_tests(completed: str, test: str, entry_point: str) -> str:
    """The program HumanEval runs: the completed code, its tests, and the check call."""
    return f"{completed}\n\n{test}\n\ncheck({entry_point})\n"
