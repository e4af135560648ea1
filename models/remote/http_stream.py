"""One HTTP/1.1 request whose answer streams as server-sent events, read so that the
caller can stop at any moment: between reads of at most POLL_SECONDS it checks whether to
go on, and closing the socket ends the request (vLLM aborts a request whose client left).

The standard library only, on a raw socket: http.client's buffered reader is left in an
undefined state by a read timeout, and a timeout is how a cancelled request gets noticed.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from models.errors import RemoteError

POLL_SECONDS = 0.02
CONNECT_SECONDS = 5.0


@dataclass(frozen=True)
class Endpoint:
    """Where the server is: `url` as the user wrote it ("http://host:8000", maybe with a
    path prefix before /v1), and the key it wants (None: none)."""
    url: str
    api_key: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteError(f"remoteUrl must look like http://host:port, got {self.url!r}")

    def __repr__(self) -> str:  # never the key, in a log line or a traceback
        return f"Endpoint({self.url!r}, api_key={'set' if self.api_key else 'none'})"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def path(self, route: str) -> str:
        return urlsplit(self.url).path.rstrip("/") + route


class Stopped(Exception):
    """The caller's `keep_going` said no: the request was closed unanswered."""


class _Reader:
    """Bytes from the socket, waiting at most POLL_SECONDS a read, asking `keep_going`
    between reads and giving up after `silence` seconds without a byte."""

    def __init__(self, sock: socket.socket, keep_going: Callable[[], bool], silence: float):
        self.sock, self.keep_going, self.silence = sock, keep_going, silence
        self.buffer = b""

    def more(self) -> bool:
        """Read what arrives next into the buffer; False at the end of the stream."""
        waited_since = time.monotonic()
        while True:
            if not self.keep_going():
                raise Stopped
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                if time.monotonic() - waited_since > self.silence:
                    raise RemoteError(f"the server sent nothing for {self.silence:.0f} s") from None
                continue
            except OSError as error:
                raise RemoteError(f"the connection to the server broke: {error}") from None
            if not data:
                return False
            self.buffer += data
            return True

    def until(self, marker: bytes) -> bytes:
        """Bytes up to `marker` (consumed, not returned)."""
        while marker not in self.buffer:
            if not self.more():
                raise RemoteError("the server closed the connection mid-answer")
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            if not self.more():
                raise RemoteError("the server closed the connection mid-answer")
        head, self.buffer = self.buffer[:count], self.buffer[count:]
        return head


class Exchange:
    """A POST whose answer is read as JSON or as a stream of events; always `close()` it
    (or use it in a with block): closing mid-stream is how a request is abandoned."""

    def __init__(self, endpoint: Endpoint, route: str, body: dict | None, keep_going: Callable[[], bool],
                 silence: float, method: str = "POST"):
        self.endpoint = endpoint
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), timeout=CONNECT_SECONDS)
        except OSError as error:
            raise RemoteError(f"cannot reach the remote server at {endpoint.url}: {error.strerror or error}") from None
        if urlsplit(endpoint.url).scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=endpoint.host)
        self.sock = sock
        payload = json.dumps(body).encode() if body is not None else b""
        headers = [f"{method} {endpoint.path(route)} HTTP/1.1", f"Host: {endpoint.host}:{endpoint.port}",
                   "Accept: application/json, text/event-stream", "Connection: close",
                   f"Content-Length: {len(payload)}"]
        if body is not None:
            headers.append("Content-Type: application/json")
        if endpoint.api_key:
            headers.append(f"Authorization: Bearer {endpoint.api_key}")
        try:
            sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + payload)
        except OSError as error:
            self.close()
            raise RemoteError(f"sending to the remote server failed: {error}") from None
        sock.settimeout(POLL_SECONDS)
        self.reader = _Reader(sock, keep_going, silence)
        status_line, *header_lines = self.reader.until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.headers = {name.strip().lower(): value.strip()
                        for name, _, value in (line.partition(":") for line in header_lines)}
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self._left = int(self.headers["content-length"]) if "content-length" in self.headers else None

    def __enter__(self) -> "Exchange":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _pieces(self) -> Iterator[bytes]:
        """The body as it arrives, chunked transfer encoding undone."""
        reader = self.reader
        if self._chunked:
            while True:
                size = int(reader.until(b"\r\n").split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return
                yield reader.exactly(size)
                reader.until(b"\r\n")
        elif self._left is not None:
            yield reader.exactly(self._left)
        else:  # the body ends with the connection
            while reader.more():
                pass
            yield reader.buffer
            reader.buffer = b""

    def text(self) -> str:
        return b"".join(self._pieces()).decode("utf-8", "replace")

    def json(self) -> dict:
        text = self.text()
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise RemoteError(f"the server answered {self.status} with something that is not JSON: "
                              f"{text[:200]!r}") from None

    def events(self) -> Iterator[dict]:
        """Each `data:` event's JSON, until `data: [DONE]` or the end of the body."""
        pending = b""
        for piece in self._pieces():
            pending += piece
            while b"\n\n" in pending:
                event, pending = pending.split(b"\n\n", 1)
                for line in event.decode("utf-8", "replace").splitlines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        yield json.loads(data)
                    except json.JSONDecodeError:
                        raise RemoteError(f"the server streamed an event that is not JSON: {data[:200]!r}") from None

    def error_message(self) -> str:
        """The server's own words for a refusal (vLLM: {"error": {"message": ...}})."""
        try:
            body = self.json()
        except RemoteError as error:
            return str(error)
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message") or error.get("detail") if isinstance(error, dict) else None
        return str(message or body)[:300]
