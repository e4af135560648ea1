"""Run in the sandbox's child process as a script (`python -I sandbox_guard.py program.py
MARKER CPU_SECONDS`): it sets resource limits, installs an audit hook, then executes the
program.

The run counts only if the program reaches its end: a marker file, opened before the
program starts under a name it is not told, is written after it returns, so `exit(0)` or
`os._exit(0)` halfway cannot pass for success.

The hook (PEP 578) cannot be removed by the code it watches. A forbidden event ends the
process at once with BLOCKED_EXIT, so a program cannot catch the refusal and pass anyway:
sockets, new processes, signals to others, native code through ctypes (beyond the
libraries of this Python's own installation, which numpy needs), and any write, delete,
rename or permission change outside the working (temporary) directory. It guards against
accidents of generated code (a stray rmtree, a test that writes a file), not against an
adversary: CPython's audit events do not cover everything a determined program can do.
This file imports only the standard library: it runs without the Tandem package.
"""

import os
import resource
import sys

BLOCKED_EXIT = 86
MEMORY_BYTES = 2 << 30
OUTPUT_BYTES = 4 << 20  # per file the program writes, stdout and stderr included
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_ALWAYS_BLOCKED = ("socket.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
                   "os.forkpty", "os.system", "os.kill", "os.killpg", "pty.", "ctypes.", "signal.pthread_kill",
                   "resource.setrlimit", "os.setuid", "os.setgid", "shutil.chown", "os.startfile")
_CTYPES_LOOKUPS = {"ctypes.dlsym", "ctypes.dlsym/handle"}  # finding a symbol runs nothing
_PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
                "os.link", "os.symlink", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile",
                "os.replace", "os.setxattr", "os.removexattr"}


def _inside(root: str, path) -> bool:
    if isinstance(path, int):  # a file descriptor the program already holds
        return True
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return False
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


def _python_library(name) -> bool:
    """None (the interpreter) or a library inside this Python's installation."""
    if name is None:
        return True
    return isinstance(name, (str, bytes)) and any(_inside(os.path.realpath(p), name)
                                                  for p in {sys.prefix, sys.base_prefix})


def _block(event: str, detail) -> None:
    sys.stderr.write(f"\nsandbox: blocked {event} {detail!r}\n")
    sys.stderr.flush()
    os._exit(BLOCKED_EXIT)


def install(root: str) -> None:
    root = os.path.realpath(root)

    def hook(event: str, args: tuple) -> None:
        if event == "ctypes.dlopen" and _python_library(args[0]):
            return  # `import ctypes` opens the interpreter itself; numpy opens its own libraries
        if event in _CTYPES_LOOKUPS:
            return
        if event.startswith(_ALWAYS_BLOCKED):
            _block(event, args[:2])
        elif event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in mode for c in "wax+")) or bool(flags & _WRITE_FLAGS)
            if writing and not _inside(root, path):
                _block(event, path)
        elif event in _PATH_EVENTS:
            targets = [a for a in args if isinstance(a, (str, bytes))] or [args[0]]
            if not all(_inside(root, a) for a in targets):
                _block(event, args[:2])

    sys.addaudithook(hook)


def limit_resources(cpu_seconds: int) -> None:
    """Bound memory, CPU time, file sizes and open files (the guard's own needs included)."""
    for limit, value in ((resource.RLIMIT_AS, MEMORY_BYTES), (resource.RLIMIT_CPU, cpu_seconds),
                         (resource.RLIMIT_FSIZE, OUTPUT_BYTES), (resource.RLIMIT_NOFILE, 64),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))


def main() -> None:
    program, done_marker, cpu_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    limit_resources(cpu_seconds)
    with open(program, encoding="utf-8") as file:
        code = compile(file.read(), program, "exec")
    done = open(done_marker, "w")  # opened before the guard; written only if the program ends normally
    sys.argv = [program]
    install(os.getcwd())
    try:
        # Not "__main__": as in HumanEval's own harness, a completion's `if __name__ == "__main__":`
        # block (often a demo reading input()) is not part of the program under test.
        exec(code, {"__name__": "program", "__builtins__": __builtins__})
    except SystemExit as exit:  # exit() before the tests ran must not count as passing them
        sys.stderr.write(f"\nSystemExit: the program called exit({exit.code!r})\n")
        sys.exit(1)
    done.write("done")
    done.close()


if __name__ == "__main__":
    main()
