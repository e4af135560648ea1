"""Runs a TandemClient (the real server over stdio) from synchronous tests."""

from __future__ import annotations

import asyncio
import time

from lsp_server.client import TandemClient


class ServerSession:
    def __init__(self, settings: dict | None = None, server_args: list[str] | None = None,
                 tcp: tuple[str, int] | None = None):
        self.runner = asyncio.Runner()
        self.client = TandemClient(server_args or [])
        try:
            self.run(self.client.connect(*tcp, settings) if tcp else self.client.start(settings))
        except BaseException:
            self.runner.close()
            raise

    def run(self, coroutine):
        return self.runner.run(coroutine)

    def wait_loaded(self, timeout: float = 120) -> dict:
        """Status once models are loaded (or failed to)."""
        return self.wait_state(("ready", "error"), timeout)

    def wait_state(self, states: tuple[str, ...], timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self.run(self.client.status())
            if status["state"] in states or time.monotonic() > deadline:
                return status
            self.run(asyncio.sleep(0.1))

    def wait_message(self, fragment: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.client.messages:
                if fragment in message:
                    return message
            self.run(asyncio.sleep(0.05))
        raise AssertionError(f"no message containing {fragment!r}; got {self.client.messages}")

    def complete(self, uri: str, line: int, character: int):
        return self.run(self.client.inline_completion(uri, line, character))

    def close(self) -> None:
        try:
            self.run(self.client.stop())
        finally:
            self.runner.close()
