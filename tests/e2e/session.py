"""Drives the real server from synchronous tests: over stdio (`ServerSession`, through a
TandemClient) or in this process (`InProcessServer`, through its own reader)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
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


class InProcessServer:
    """The real server object in this process, read through its real reader
    (`TandemServer.read_messages`: framing, decoding, the protocol, the handlers) from a
    queue of framed bytes. A test can then look at what the server holds (a document's text,
    the protocol's bookkeeping) beside what it answers. Models load only if the test lets
    them (see `no_models`)."""

    def __init__(self, capabilities: dict | None = None, initialization_options: dict | None = None) -> None:
        from lsp_server.server import create_server  # tests import the server; the server never imports tests

        self.runner = asyncio.Runner()
        self.server = create_server()
        self.server._stop_event = threading.Event()
        self.server.protocol.set_writer(self, include_headers=False)
        self.received: list[dict] = []  # everything the server sent, decoded
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue | None = None
        self._idle = asyncio.Event()
        self.runner.run(self._start())
        self.request("initialize", {"capabilities": capabilities or {},
                                    "initializationOptions": initialization_options})
        self.notify("initialized", {})

    async def _start(self) -> None:
        self._queue = asyncio.Queue()
        self._idle = asyncio.Event()

        async def read() -> bytes:
            self._idle.set()
            data = await self._queue.get()
            self._idle.clear()
            return data

        self._reader = asyncio.ensure_future(self.server.read_messages(read))

    # the writer interface pygls sends through
    def write(self, data: bytes) -> None:
        message = json.loads(data)
        self.received.append(message)
        if "method" in message and "id" in message:  # a request to the editor: answered as one would
            result = [None] if message["method"] == "workspace/configuration" else None
            body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}).encode()
            self._queue.put_nowait(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def close(self) -> None:
        pass

    def send(self, *messages: dict) -> None:
        """Messages in one read, as a fast editor's arrive; back when all are handled."""
        data = b"".join(b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                        for body in (json.dumps(message).encode() for message in messages))
        self.runner.run(self._send(data))

    async def _send(self, data: bytes) -> None:
        self._idle.clear()
        self._queue.put_nowait(data)
        for _ in range(3):  # read and handled, and the tasks handlers started, up to their first real wait
            await self._idle.wait()
            while not (self._queue.empty() and self._idle.is_set()):
                await asyncio.sleep(0)
            await asyncio.sleep(0)

    def notify(self, method: str, params) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params, timeout: float = 30) -> dict:
        """The server's whole response (`result` or `error`) to one request."""
        request_id = next(self._ids)
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return self.runner.run(self._response(request_id, timeout))

    async def _response(self, request_id: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.received:
                if message.get("id") == request_id and "method" not in message:
                    return message
            await asyncio.sleep(0.005)
        raise TimeoutError(f"request {request_id} was not answered within {timeout} s")

    def messages(self) -> list[str]:
        """The window/showMessage texts so far."""
        return [m["params"]["message"] for m in self.received if m.get("method") == "window/showMessage"]

    def stop(self) -> None:
        self.server._stop_event.set()
        self._reader.cancel()
        try:
            self.runner.run(asyncio.sleep(0))
        finally:
            self.runner.close()
            if self.server.owns_host:
                self.server.host.shutdown()


@contextlib.contextmanager
def no_models():
    """Model loads fail at once with a plain reason (no torch work): for tests of the
    protocol and documents, not of completions."""
    from lsp_server import model_host

    def refused(spec):
        return model_host.LoadOutcome(model_host.FAILED, "no models in this test")

    saved, model_host.load_pair = model_host.load_pair, refused
    try:
        yield
    finally:
        model_host.load_pair = saved
