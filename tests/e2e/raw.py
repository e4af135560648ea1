"""The server as a subprocess spoken to byte by byte, for what a well-behaved client
library would never send (invalid UTF-8) or never do (stop reading its responses)."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time


class RawServer:
    def __init__(self) -> None:
        # Unbuffered, so select() sees every byte the server wrote: a test waits with a deadline.
        self.process = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)

    def send(self, message: dict, replace: tuple[bytes, bytes] | None = None, length_delta: int = 0) -> None:
        """One framed message; `length_delta` makes its Content-Length lie by that much."""
        body = json.dumps(message, ensure_ascii=False).encode()
        if replace:
            body = body.replace(*replace)
        self.send_bytes(b"Content-Length: %d\r\n\r\n" % (len(body) + length_delta) + body)

    def send_bytes(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def _read(self, count: int, deadline: float) -> bytes:
        data = b""
        while len(data) < count:
            if not select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError(f"the server sent nothing more within the deadline (had {data!r})")
            chunk = self.process.stdout.read(count - len(data))
            if not chunk:
                raise EOFError("the server closed its output")
            data += chunk
        return data

    def receive(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        headers = b""
        while not headers.endswith(b"\r\n\r\n"):
            headers += self._read(1, deadline)
        length = next(int(h.split(b":")[1]) for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length"))
        return json.loads(self._read(length, deadline))

    def receive_response(self, request_id: int, timeout: float = 120) -> tuple[dict, list[dict]]:
        """The response to `request_id`, and every other message before it; TimeoutError when
        it does not come (an unanswered request)."""
        deadline, others = time.monotonic() + timeout, []
        while (message := self.receive(max(0.0, deadline - time.monotonic()))).get("id") != request_id \
                or "method" in message:
            others.append(message)
        return message, others

    def initialize(self) -> None:
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}})
        self.receive_response(0)
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
