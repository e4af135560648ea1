"""Run in the sandbox's child process as a script (`python -I sandbox_guard.py program.py
CPU_SECONDS NONCE_FD VERDICT_FD`): it sets resource limits, installs an audit hook, then
executes the program. It is the inner layer: under bubblewrap (sandbox.py) it runs the same.

The verdict. The parent sends a fresh random nonce down a pipe; install() reads it and
closes the pipe before the program starts, so the nonce lives only with the hook. When the
program's code has returned, main() raises DONE_EVENT, and the hook writes the nonce to the
verdict pipe only if that event comes from main()'s own frame, at its own line, once. A
program that calls sys.audit itself, writes to every descriptor it can find, or reads the
files around it has no nonce to write, and `os._exit(0)` halfway leaves none.

The hook (PEP 578) cannot be removed by the code it watches. A forbidden event ends the
process at once with BLOCKED_EXIT, so a program cannot catch the refusal and pass anyway:
sockets, new processes, signals to others, any write, delete, rename or permission change
outside the working (temporary) directory, a directory descriptor outside it (the base of
`dir_fd=` calls), a change of directory, and the introspection that could reach the hook's
state (gc's object lists, other threads' frames, tracing, audit hooks of its own).
Functions without events in CPython 3.11 (os.mkfifo, os.mknod, os.setsid, os.setpgid,
_posixsubprocess.fork_exec, ...) are replaced by refusals before the program starts. Two
refusals raise instead, as catching them gains nothing: importing a module that reaches
the system without events (ctypes, subinterpreters, shared memory, sqlite) raises
ImportError, which numpy catches, and signal.signal raises ValueError, which asyncio does.

No code of the program runs inside the hook: it keeps its own copy of the builtins and of
the few C functions it calls, touches only exact str/bytes/int arguments, and pauses the
garbage collector (whose finalizers could run there) while it works. This layer still
trusts CPython: bubblewrap, where the machine has it, is the wall that does not.
This file imports only the standard library: it runs without the Tandem package.
"""

import _signal
import _stat
import builtins
import dis
import functools
import gc
import os
import posix
import resource
import signal
import sys
import types

BLOCKED_EXIT = 86
NONCE_BYTES = 32
DONE_EVENT = "tandem.sandbox.done"        # raised by main() when the program's code returned
REFUSED_EVENT = "tandem.sandbox.refused"  # raised by the replacements of unaudited functions
MEMORY_BYTES = 2 << 30
OUTPUT_BYTES = 4 << 20  # per file the program writes, stdout and stderr included

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_DIRECTORY_FLAGS = os.O_DIRECTORY | getattr(os, "O_PATH", 0)
_ALWAYS_BLOCKED = ("socket.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
                   "os.forkpty", "os.system", "os.kill", "os.killpg", "pty.", "ctypes.", "signal.pthread_kill",
                   "resource.setrlimit", "resource.prlimit", "os.setuid", "os.setgid", "shutil.chown",
                   "os.startfile", "sqlite3.", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
                   "sys._current_frames", "sys._current_exceptions", "sys.settrace", "sys.setprofile",
                   "sys.addaudithook", "sys.monitoring", REFUSED_EVENT)
_PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
                "os.link", "os.symlink", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile",
                "os.replace", "os.setxattr", "os.removexattr"}
# Reach the system without audit events; posix and _signal only by a second import (a fresh
# copy without the replacements below).
_UNIMPORTABLE = {"ctypes", "_ctypes", "_posixsubprocess", "_posixshmem", "_sqlite3", "_dbm", "_gdbm",
                 "readline", "_curses", "_xxsubinterpreters", "_xxinterpchannels", "_interpreters",
                 "_interpchannels", "_interpqueues", "posix", "_signal"}
_UNIMPORTABLE_PREFIXES = ("_test", "_xx")
_REPLACED = ((posix, os, ("mkfifo", "mknod", "setsid", "setpgid", "setpgrp", "pidfd_open", "chroot",
                          "setns", "unshare")),
             (_signal, signal, ("signal", "pidfd_send_signal")))


# The hook and its helpers. install() runs copies of them bound to private globals: a
# program that patches builtins, os or this module changes nothing they call.

def _resolve(path):
    """realpath() from C calls alone (posixpath's is Python code a program could patch)."""
    if type(path) is bytes:
        path = path.decode("utf-8", "surrogateescape")
    if not path.startswith("/"):
        path = _getcwd() + "/" + path
    parts, resolved, links = [p for p in path.split("/") if p and p != "."], "", 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            resolved = resolved.rpartition("/")[0]
            continue
        candidate = resolved + "/" + part
        try:
            mode = _lstat(candidate).st_mode
        except OSError:  # absent (or unreadable): the rest stays as written
            resolved = candidate
            continue
        if _S_ISLNK(mode) and links < 40:
            links += 1
            target = _readlink(candidate)
            if target.startswith("/"):
                resolved = ""
            parts[0:0] = [p for p in target.split("/") if p and p != "."]
            continue
        resolved = candidate
    return resolved or "/"


def _inside(path):
    if type(path) is int:  # a file descriptor the program already holds
        return True
    if type(path) is not str and type(path) is not bytes:
        return False
    real = _resolve(path)
    return real == _root or real.startswith(_root + "/")


def _memory_file(path):
    """/proc/PID/mem (or a thread's): another way to read the nonce, here or in the parent."""
    if type(path) is not str and type(path) is not bytes:
        return False
    parts = _resolve(path).split("/")
    return len(parts) >= 4 and parts[1] == "proc" and parts[-1] == "mem"


def _describe(args):
    return "(" + ", ".join(repr(a) if type(a) in (str, bytes, int) else "<object>" for a in args[:2]) + ")"


def _block(event, args):
    _write(2, ("\nsandbox: blocked " + event + " " + _describe(args) + "\n").encode("utf-8", "replace"))
    _exit(_BLOCKED_EXIT)


def _check_done():
    """The nonce goes out once, and only for main()'s own DONE_EVENT line."""
    frame = _getframe(3)  # _check_done ← _check ← _hook ← the frame that raised the event
    if _state["done"] or frame is not _main_frame or frame.f_lineno != _done_line:
        _block(DONE_EVENT, ("not raised by the guard",))
    _state["done"] = True
    _write(_verdict_fd, _nonce)
    _close(_verdict_fd)


def _check(event, args):
    if type(event) is not str:
        _block("an event that is not a str", ())
    if event == DONE_EVENT:
        _check_done()
    elif event == REFUSED_EVENT and args[:1] == ("signal.signal",):
        # Refused, not fatal: asyncio.run() catches this ValueError and runs without its handler.
        raise ValueError("sandbox: blocked signal.signal (no handler could run inside the hook)")
    elif event.startswith(_ALWAYS_BLOCKED):
        _block(event, args)
    elif event == "import":
        name = args[0]
        if type(name) is not str or name in _UNIMPORTABLE or name.startswith(_UNIMPORTABLE_PREFIXES):
            raise ImportError("sandbox: blocked import of " + (name if type(name) is str else "<object>"))
    elif event == "open":
        path, mode, flags = args
        if _memory_file(path):
            _block(event, args)
        if mode is not None and type(mode) is not str or type(flags) is not int:
            _block(event, args)
        writing = (mode is not None and any(c in mode for c in "wax+")) or bool(flags & _WRITE_FLAGS)
        if (writing or mode is None and (flags & _DIRECTORY_FLAGS or _is_directory(path))) and not _inside(path):
            _block(event, args)  # os.open of a directory outside would be the base of dir_fd= calls
    elif event in _PATH_EVENTS:
        targets = [a for a in args if type(a) is str or type(a) is bytes] or [args[0]]
        for target in targets:
            if not _inside(target):
                _block(event, args)
    elif event == "os.chdir":
        # The working directory stays the root: paths relative to a dir_fd inside it are then
        # checked against a directory no deeper than theirs.
        if type(args[0]) is not str and type(args[0]) is not bytes or _resolve(args[0]) != _root:
            _block(event, args)


def _is_directory(path):
    if type(path) is not str and type(path) is not bytes:
        return False
    try:
        return _S_ISDIR(_stat_path(path).st_mode)
    except OSError:
        return False


def _hook(event, args):
    collecting = _gc_isenabled()
    _gc_disable()  # a finalizer of the program's must not run with this frame beneath it
    try:
        _check(event, args)
    finally:
        if collecting:
            _gc_enable()


_HOOK_FUNCTIONS = (_resolve, _inside, _memory_file, _describe, _block, _check_done, _check, _is_directory, _hook)


def _read_nonce(fd: int) -> bytes:
    nonce = b""
    while len(nonce) < NONCE_BYTES:
        chunk = os.read(fd, NONCE_BYTES - len(nonce))
        if not chunk:
            break
        nonce += chunk
    os.close(fd)
    return nonce


def _done_line(code: types.CodeType) -> int:
    """The line of main() that raises DONE_EVENT."""
    line = 0
    for instruction in dis.get_instructions(code):
        line = instruction.starts_line or line
        if instruction.argval == "DONE_EVENT":
            return line
    raise RuntimeError("main() raises no DONE_EVENT")


def _replace_unaudited() -> None:
    """Refusals in place of the functions that act without an audit event."""
    for module, facade, names in _REPLACED:
        for name in names:
            if hasattr(module, name):
                refusal = functools.partial(sys.audit, REFUSED_EVENT, f"{facade.__name__}.{name}")
                setattr(module, name, refusal)
                setattr(facade, name, refusal)
    for name in list(sys.modules):
        if name in _UNIMPORTABLE - {"posix", "_signal"}:
            del sys.modules[name]  # not imported by the guard; gone, should -I ever change that
    # `import subprocess` (asyncio's too) still works; starting a process through it does not.
    stub = types.ModuleType("_posixsubprocess", "the sandbox's refusal of fork_exec")
    stub.fork_exec = functools.partial(sys.audit, REFUSED_EVENT, "_posixsubprocess.fork_exec")
    sys.modules["_posixsubprocess"] = stub


def install(root: str, nonce_fd: int, verdict_fd: int) -> None:
    """Install the hook; the caller is the frame that will raise DONE_EVENT."""
    caller = sys._getframe(1)
    env = {"__builtins__": dict(builtins.__dict__), "_root": os.path.realpath(root), "_nonce": _read_nonce(nonce_fd),
           "_verdict_fd": verdict_fd, "_main_frame": caller, "_done_line": _done_line(caller.f_code),
           "_state": {"done": False}, "_BLOCKED_EXIT": BLOCKED_EXIT, "DONE_EVENT": DONE_EVENT,
           "REFUSED_EVENT": REFUSED_EVENT,
           "_ALWAYS_BLOCKED": _ALWAYS_BLOCKED, "_PATH_EVENTS": frozenset(_PATH_EVENTS),
           "_UNIMPORTABLE": frozenset(_UNIMPORTABLE), "_UNIMPORTABLE_PREFIXES": _UNIMPORTABLE_PREFIXES,
           "_WRITE_FLAGS": _WRITE_FLAGS, "_DIRECTORY_FLAGS": _DIRECTORY_FLAGS,
           "_getcwd": posix.getcwd, "_lstat": posix.lstat, "_stat_path": posix.stat, "_readlink": posix.readlink,
           "_S_ISLNK": _stat.S_ISLNK, "_S_ISDIR": _stat.S_ISDIR, "_write": posix.write, "_close": posix.close,
           "_exit": posix._exit, "_getframe": sys._getframe, "_gc_isenabled": gc.isenabled,
           "_gc_disable": gc.disable, "_gc_enable": gc.enable}
    for function in _HOOK_FUNCTIONS:
        env[function.__name__] = types.FunctionType(function.__code__, env, function.__name__, function.__defaults__)
    _replace_unaudited()
    sys.addaudithook(env["_hook"])


def limit_resources(cpu_seconds: int) -> None:
    """Bound memory, CPU time, file sizes and open files (the guard's own needs included)."""
    for limit, value in ((resource.RLIMIT_AS, MEMORY_BYTES), (resource.RLIMIT_CPU, cpu_seconds),
                         (resource.RLIMIT_FSIZE, OUTPUT_BYTES), (resource.RLIMIT_NOFILE, 64),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))


def main() -> None:
    program, cpu_seconds, nonce_fd, verdict_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    limit_resources(cpu_seconds)
    with open(program, encoding="utf-8") as file:
        code = compile(file.read(), program, "exec")
    sys.argv = [program]
    run, done = exec, sys.audit  # bound before the program could replace them
    # Not "__main__": as in HumanEval's own harness, a completion's `if __name__ == "__main__":`
    # block (often a demo reading input()) is not part of the program under test.
    namespace = {"__name__": "program", "__builtins__": __builtins__}
    install(os.getcwd(), nonce_fd, verdict_fd)
    run(code, namespace)
    # Only reached when the program's code returned: an exception leaves main() at once.
    done(DONE_EVENT)


if __name__ == "__main__":
    try:
        main()
    except SystemExit as exit:  # exit() before the tests ran must not count as passing them
        sys.stderr.write(f"\nSystemExit: the program called exit({exit.code!r})\n")
        sys.exit(1)
