"""One-line escapes from the evaluation sandbox (issue 14, item 12), each run under both
layers: bubblewrap (skipped where the machine cannot run it) and the audit hook alone.
Each program tries to reach outside its temporary directory, to outlive its timeout, or
to pass without running to its end; each test checks the outside, not only the status."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bench.evaluation.sandbox import AUDIT, BLOCKED, BWRAP, PASSED, bwrap_argv, bwrap_problem, run_program


def run(code: str, layer: str, timeout: float = 5.0):
    return run_program(code, timeout=timeout, layer=layer)


@pytest.fixture(params=[BWRAP, AUDIT])
def layer(request) -> str:
    if request.param == BWRAP and (problem := bwrap_problem()):
        pytest.skip(f"bubblewrap is not usable on this machine: {problem}")
    return request.param


@pytest.fixture
def outside() -> Path:
    """A directory outside the sandbox's temporary one, visible (read-only) inside bubblewrap
    too: /tmp is private there, /var/tmp is not."""
    base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
    path = Path(tempfile.mkdtemp(prefix="tandem-escape-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _survivors(token: str, settle_s: float = 0.5) -> list[int]:
    """Processes still alive with `token` in their command line (killed, for the next test)."""
    deadline = time.monotonic() + settle_s
    while (alive := _processes_with(token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return alive


def _fork_exec(command: str, setsid: bool = False) -> str:
    """A program that starts `sh -c command` through _posixsubprocess, no audit event on the way."""
    return ("import _posixsubprocess, os\nr, w = os.pipe()\n"
            f"_posixsubprocess.fork_exec([b'/bin/sh', b'-c', {command.encode()!r}], [b'/bin/sh'], True, (),"
            f" None, None, -1, -1, -1, -1, -1, -1, r, w, True, {setsid}, -1, None, None, None, -1, None, False)\n")


# --- reaching outside ---------------------------------------------------------------------

def test_ctypes_cannot_run_a_shell_command(layer, outside):
    marker = outside / "ran"
    outcome = run(f"import ctypes\nctypes.CDLL(None).system(b'touch {marker}')\n", layer)
    assert not marker.exists(), "the shell command ran"
    assert outcome.status == BLOCKED and "ctypes" in outcome.detail


def test_posixsubprocess_cannot_start_a_process(layer, outside):
    marker = outside / "ran"
    outcome = run(_fork_exec(f"touch {marker}") + "import time\ntime.sleep(1)\n", layer)
    assert not marker.exists(), "the process ran"
    assert outcome.status == BLOCKED and "_posixsubprocess" in outcome.detail


def test_a_subinterpreter_does_not_escape_the_hook(layer, outside):
    target = outside / "written"
    outcome = run("import _xxsubinterpreters as interpreters\n"
                  f"interpreters.run_string(interpreters.create(), \"open({str(target)!r}, 'w').write('x')\")\n",
                  layer)
    assert not target.exists(), "the subinterpreter wrote outside"
    assert outcome.status == BLOCKED


def test_a_directory_descriptor_outside_is_no_base_for_open(layer, outside):
    outcome = run("import os\n"
                  f"fd = os.open({str(outside)!r}, os.O_RDONLY)\n"
                  "os.close(os.open('escaped', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))\n", layer)
    assert not (outside / "escaped").exists(), "the file was created outside"
    assert outcome.status == BLOCKED


@pytest.mark.parametrize("base", ["outside", "inside"])
def test_unlink_with_dir_fd_cannot_delete_outside(layer, outside, base):
    victim = outside / "victim"
    victim.write_text("keep me")
    if base == "outside":  # a descriptor of the directory itself
        program = f"import os\nfd = os.open({str(outside)!r}, os.O_RDONLY)\nos.unlink('victim', dir_fd=fd)\n"
    else:  # the working directory's descriptor, used from a directory two levels down
        program = ("import os\nfd = os.open('.', os.O_RDONLY)\nos.makedirs('a/b')\nos.chdir('a/b')\n"
                   f"os.unlink(os.path.relpath({str(victim)!r}, '../..'), dir_fd=fd)\n")
    outcome = run(program, layer)
    assert victim.exists(), "the file outside was deleted"
    assert outcome.status == BLOCKED


@pytest.mark.parametrize("call", ["os.mkfifo({path!r})", "os.mknod({path!r})"])
def test_mkfifo_and_mknod_cannot_create_outside(layer, outside, call):
    path = outside / "node"
    outcome = run("import os\n" + call.format(path=str(path)) + "\n", layer)
    assert not path.exists(), "the node was created outside"
    assert outcome.status == BLOCKED


# --- outliving the timeout ------------------------------------------------------------------

@pytest.mark.parametrize("spawn", ["posixsubprocess", "ctypes"])
def test_a_child_in_its_own_session_does_not_outlive_the_timeout(layer, spawn):
    token = f"tandem-escape-{secrets.token_hex(6)}"
    command = f"sleep 30; : {token}"
    if spawn == "posixsubprocess":
        program = _fork_exec(command, setsid=True)
    else:
        program = f"import ctypes\nctypes.CDLL(None).system(b\"setsid sh -c '{command}' &\")\n"
    run(program + "while True:\n    pass\n", layer, timeout=1.0)
    assert not _survivors(token), "a process started by the program is still running"


# --- passing without running to the end -------------------------------------------------------

FORGERIES = {
    # the old marker: a file in the working directory, under a name the program could list
    "marker file": "import os\nfor name in os.listdir('.'):\n    if name != 'program.py':\n"
                   "        try:\n            open(name, 'w').write('done')\n        except OSError:\n"
                   "            pass\nos._exit(0)\n",
    # every descriptor the guard holds, the verdict's included
    "every descriptor": "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'done')\n"
                        "    except OSError:\n        pass\nos._exit(0)\n",
    # the guard's own variables, up the stack
    "the guard's frame": "import os, sys\nframe = sys._getframe()\nwhile frame:\n"
                         "    for value in list(frame.f_locals.values()):\n"
                         "        if hasattr(value, 'write') and not isinstance(value, type):\n"
                         "            try:\n                value.write('done')\n                value.flush()\n"
                         "            except Exception:\n                pass\n"
                         "        if isinstance(value, bytes):\n            for fd in range(3, 64):\n"
                         "                try:\n                    os.write(fd, value)\n"
                         "                except OSError:\n                    pass\n"
                         "    frame = frame.f_back\nos._exit(0)\n",
    # every object in the process
    "gc's objects": "import gc, os\nfor value in gc.get_objects():\n"
                    "    if isinstance(value, bytes) and len(value) == 32:\n"
                    "        for fd in range(3, 64):\n            try:\n                os.write(fd, value)\n"
                    "            except OSError:\n                pass\nos._exit(0)\n",
    # the guard's completion event, raised by the program
    "the completion event": "import os, sys\nsys.audit('tandem.sandbox.done')\nos._exit(0)\n",
    # the same event from a finalizer that runs as the failing program unwinds the guard's frame
    "a finalizer": "import functools, sys\nclass Bomb:\n"
                   "    __del__ = staticmethod(functools.partial(sys.audit, 'tandem.sandbox.done'))\n"
                   "bomb = Bomb()\nassert False\n",
    # a signal handler that would run inside the hook, with its state one frame down
    "a signal handler": "import signal\nsignal.signal(signal.SIGALRM, lambda *_: None)\nassert False\n",
}


@pytest.mark.parametrize("name", FORGERIES)
def test_a_program_cannot_forge_its_pass(layer, name):
    outcome = run(FORGERIES[name] + "assert False\n", layer)
    assert outcome.status != PASSED, outcome


# --- the outer layer on its own ---------------------------------------------------------------

@pytest.fixture
def bwrap_only():
    if problem := bwrap_problem():
        pytest.skip(f"bubblewrap is not usable on this machine: {problem}")


def _in_bwrap(command: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as workdir:
        return subprocess.run([*bwrap_argv(workdir), "/bin/sh", "-c", command], capture_output=True,
                              text=True, timeout=timeout)


def test_bubblewrap_alone_keeps_the_system_read_only(bwrap_only, outside):
    victim = outside / "victim"
    victim.write_text("keep me")
    result = _in_bwrap(f"touch {outside}/new; rm -f {victim}; touch ./inside && echo inside-ok")
    assert "inside-ok" in result.stdout
    assert not (outside / "new").exists() and victim.read_text() == "keep me"


def test_bubblewrap_alone_has_no_network(bwrap_only):
    result = _in_bwrap("tail -n +3 /proc/net/dev | cut -d: -f1")
    assert result.stdout.split() == ["lo"]


def test_bubblewrap_alone_takes_its_whole_pid_namespace_down(bwrap_only):
    token = f"tandem-escape-{secrets.token_hex(6)}"
    with tempfile.TemporaryDirectory() as workdir:
        sandbox = subprocess.Popen([*bwrap_argv(workdir), "/bin/sh", "-c",
                                    f"setsid sh -c 'sleep 30; : {token}' & sleep 30"],
                                   start_new_session=True)
        deadline = time.monotonic() + 5
        while not _processes_with(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_with(token), "the sandboxed process did not start"
        os.killpg(sandbox.pid, signal.SIGKILL)
        sandbox.wait()
    assert not _survivors(token, settle_s=2.0)
