"""Run in the sandbox's child process as a script (`python -I sandbox_guard.py program.py`):
it installs an audit hook, then executes the program.

The run counts only if the program reaches its end: a marker file, opened before the
program starts under a name it is not told, is written after it returns, so `exit(0)` or
`os._exit(0)` halfway cannot pass for success.

The hook (PEP 578) cannot be removed by the code it watches. A forbidden event ends the
process at once with BLOCKED_EXIT, so a program cannot catch the refusal and pass anyway:
sockets, new processes, signals to others, native code through ctypes, and any write,
delete, rename or permission change outside the working (temporary) directory.
This file imports only the standard library: it runs without the Tandem package.
"""

import os
import sys

BLOCKED_EXIT = 86
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_ALWAYS_BLOCKED = ("socket.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
                   "os.forkpty", "os.system", "os.kill", "os.killpg", "pty.", "ctypes.", "signal.pthread_kill",
                   "resource.setrlimit", "os.setuid", "os.setgid", "shutil.chown", "os.startfile")
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


def _block(event: str, detail) -> None:
    sys.stderr.write(f"\nsandbox: blocked {event} {detail!r}\n")
    sys.stderr.flush()
    os._exit(BLOCKED_EXIT)


def install(root: str) -> None:
    root = os.path.realpath(root)

    def hook(event: str, args: tuple) -> None:
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


def main() -> None:
    program, done_marker = sys.argv[1], sys.argv[2]
    with open(program, encoding="utf-8") as file:
        code = compile(file.read(), program, "exec")
    done = open(done_marker, "w")  # opened before the guard; written only if the program ends normally
    sys.argv = [program]
    install(os.getcwd())
    try:
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
    except SystemExit as exit:  # exit() before the tests ran must not count as passing them
        sys.stderr.write(f"\nSystemExit: the program called exit({exit.code!r})\n")
        sys.exit(1)
    done.write("done")
    done.close()


if __name__ == "__main__":
    main()
