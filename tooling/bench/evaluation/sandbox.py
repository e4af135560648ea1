"""Execute a completed program against its tests, contained: a child Python in a fresh
temporary directory, with no environment, no stdin and a wall-clock timeout, in two layers.

- bubblewrap (`bwrap`), where the machine has one that works (probed once): no network, the
  system read-only, a private /tmp holding only the working directory, its own PID namespace
  (everything the program starts dies with it) and no capabilities.
- the audit-hook guard (sandbox_guard.py), always, and alone where bubblewrap is missing or
  user namespaces are off (containers often): resource limits, and the hook that refuses
  what a completion must not do.

TANDEM_SANDBOX=bwrap|audit|auto (or `layer=`) picks one; auto logs which layer runs.
Passed means exit status 0 and, on a pipe the program cannot write for it, the per-run nonce
the guard sends only when the program's code has returned (sandbox_guard.py says how)."""

from __future__ import annotations

import functools
import hmac
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.evaluation.sandbox_guard import BLOCKED_EXIT, NONCE_BYTES

log = logging.getLogger(__name__)

GUARD = Path(__file__).with_name("sandbox_guard.py")
LAYER_ENV = "TANDEM_SANDBOX"
BWRAP, AUDIT = "bwrap", "audit"
INSIDE = "/tmp/tandem-eval"  # the working directory's path inside bubblewrap

PASSED, FAILED, TIMED_OUT, BLOCKED = "passed", "failed", "timed out", "blocked"
_KILLED = (signal.SIGXCPU, signal.SIGKILL)


@dataclass(frozen=True)
class Outcome:
    status: str   # passed | failed | timed out | blocked
    detail: str   # the error's last line, or what was blocked
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def bwrap_argv(workdir: str) -> list[str]:
    """bubblewrap around a command: `workdir` is the only writable place, at INSIDE."""
    visible = [arg for root in _python_roots_under("/tmp") for arg in ("--ro-bind", root, root)]
    return ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", "/", "/", "--tmpfs", "/tmp", *visible, "--proc", "/proc", "--dev", "/dev",
            "--bind", workdir, INSIDE, "--chdir", INSIDE, "--"]


def _python_roots_under(hidden: str) -> list[str]:
    """What the interpreter and the guard are read from, where the private `hidden` would
    cover it (a checkout or a virtualenv under /tmp): shown again, read-only."""
    paths = {sys.prefix, sys.exec_prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             str(GUARD.parent), *sys.path}
    under = sorted(os.path.realpath(p) for p in paths if p and os.path.exists(p))
    under = [p for p in under if p.startswith(hidden + os.sep)]  # never all of it
    return [p for i, p in enumerate(under) if not any(p.startswith(q + os.sep) or p == q for q in under[:i])]


@functools.cache
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot contain programs here, or None: probed once by running this
    Python inside it."""
    if not shutil.which("bwrap"):
        return "bwrap is not installed (Debian: apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="tandem-eval-probe-") as workdir:
        try:
            probe = subprocess.run([*bwrap_argv(workdir), sys.executable, "-I", "-c", "pass"], stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bwrap did not run: {error}"
    if probe.returncode:
        why = _last_line(probe.stderr.decode("utf-8", "replace")) or f"exit status {probe.returncode}"
        return f"bwrap cannot make its namespaces here ({why})"
    return None


@functools.cache
def _announce(layer: str, problem: str | None) -> None:
    if problem:
        log.warning("evaluation sandbox: audit hook only (%s)", problem)
    else:
        log.info("evaluation sandbox: bubblewrap + audit hook")


def choose_layer(requested: str | None = None) -> str:
    """BWRAP or AUDIT: `requested`, else $TANDEM_SANDBOX, else auto (bubblewrap where it works)."""
    requested = requested or os.environ.get(LAYER_ENV) or "auto"
    if requested == AUDIT:
        return AUDIT
    if requested not in (BWRAP, "auto"):
        raise ValueError(f"{LAYER_ENV} must be bwrap, audit or auto, not {requested!r}")
    problem = bwrap_problem()
    if requested == BWRAP and problem:
        raise RuntimeError(f"{LAYER_ENV}=bwrap, but {problem}")
    _announce(requested, problem)
    return AUDIT if problem else BWRAP


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _read_available(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 4096)
    except BlockingIOError:
        return b""


def run_program(source: str, timeout: float = 5.0, layer: str | None = None) -> Outcome:
    """Run `source` to completion; passed means it ran to its end within `timeout` seconds."""
    layer = choose_layer(layer)
    started = time.perf_counter()
    nonce = secrets.token_bytes(NONCE_BYTES)
    with tempfile.TemporaryDirectory(prefix="tandem-eval-") as workdir:
        Path(workdir, "program.py").write_text(source, encoding="utf-8", errors="surrogatepass")
        home = INSIDE if layer == BWRAP else workdir
        nonce_read, nonce_write = os.pipe()
        verdict_read, verdict_write = os.pipe()
        try:
            os.write(nonce_write, nonce)
            os.close(nonce_write)
            nonce_write = -1
            guard = [sys.executable, "-I", "-B", str(GUARD), "program.py", str(int(timeout) + 1),
                     str(nonce_read), str(verdict_write)]
            with open(Path(workdir, "stderr"), "w+b") as stderr:
                child = subprocess.Popen(
                    # The guard sets the resource limits itself: a preexec_fn is unsafe beside the
                    # scoring threads that start these processes.
                    [*bwrap_argv(workdir), *guard] if layer == BWRAP else guard,
                    cwd=workdir, env={"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"},
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                    pass_fds=(nonce_read, verdict_write), start_new_session=True)
                os.close(nonce_read)
                os.close(verdict_write)
                nonce_read = verdict_write = -1
                try:
                    code = child.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    code = None
                finally:
                    try:  # whatever it started goes with it (under bubblewrap: its PID namespace)
                        os.killpg(child.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    child.wait()
                verdict = _read_available(verdict_read)
                stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - 4096))
                error = stderr.read().decode("utf-8", "replace")
        finally:
            for fd in (nonce_read, nonce_write, verdict_read, verdict_write):
                if fd >= 0:
                    os.close(fd)
    seconds = time.perf_counter() - started
    killed = code is None or -code in _KILLED or layer == BWRAP and code - 128 in _KILLED
    if killed:
        return Outcome(TIMED_OUT, f"no result within {timeout:g} s", seconds)
    if code == 0 and hmac.compare_digest(verdict, nonce):
        return Outcome(PASSED, "", seconds)
    if code == 0:
        return Outcome(FAILED, "the program ended before its tests finished", seconds)
    last = _last_line(error)
    if code == BLOCKED_EXIT or "sandbox: blocked " in last:
        return Outcome(BLOCKED, last.partition("sandbox: ")[2] or last, seconds)
    return Outcome(FAILED, last or f"exit status {code}", seconds)


def program_with_tests(completed: str, test: str, entry_point: str) -> str:
    """The program HumanEval runs: the completed code, its tests, and the check call."""
    return f"{completed}\n\n{test}\n\ncheck({entry_point})\n"
