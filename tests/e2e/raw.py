"""The server as a subprocess spoken to byte by byte, for what a well-behaved client
library would never send (invalid UTF-8) or never do (stop reading its responses)."""

from __future__ import annotations

import json
import subprocess
import sys


class RawServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def send(self, message: dict, replace: tuple[bytes, bytes] | None = None) -> None:
        body = json.dumps(message).encode()
        if replace:
            body = body.replace(*replace)
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self) -> dict:
        headers = b""
        while not headers.endswith(b"\r\n\r\n"):
            headers += self.process.stdout.read(1)
        length = next(int(h.split(b":")[1]) for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length"))
        return json.loads(self.process.stdout.read(length))

    def receive_response(self, request_id: int) -> tuple[dict, list[dict]]:
        """The response to `request_id`, and every other message before it."""
        others = []
        while (message := self.receive()).get("id") != request_id or "method" in message:
            others.append(message)
        return message, others

    def initialize(self) -> None:
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}})
        self.receive_response(0)
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
