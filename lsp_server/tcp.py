"""`tandem serve --tcp`: headless, for an editor attached from outside a dev container.

pygls' own TCP mode ends the process when its one client leaves. Here every connection
gets a server of its own (workspace, settings, statistics) while the models, loaded
once, are shared: an editor can disconnect, reconnect, or be replaced by another one,
and the models stay warm. A client's `exit` ends its connection, not the process.

What a network may bring is bounded: with an access token (required beyond loopback),
the first message of a connection must be `initialize` carrying it in
`initializationOptions.token`, or the connection is answered with an error and closed
before anything else is read or done; until then a message may be 1 MiB at most and the
client has `ADMIT_SECONDS` to send it. At most `max_connections` editors at once; one
more is told so and closed. A closed connection leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

from lsprotocol import types
from pygls.protocol.language_server import lsp_method

from lsp_server.connection import READ_CHUNK, read_messages
from lsp_server.framing import MAX_MESSAGE_BYTES, Frame, Framer
from lsp_server.model_host import ModelHost
from lsp_server.protocol import TandemProtocol

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 16           # editors attached at once (--max-connections)
ADMIT_SECONDS = 30.0           # a connection that needs a token must send `initialize` within this
UNADMITTED_MAX_BYTES = 2**20   # the largest message before a connection is admitted (an initialize is ~10 kB)
REFUSE_SECONDS = 5.0           # how long a refused connection is read, to answer its `initialize`
NEEDS_TOKEN = -32001           # JSON-RPC server-error codes for the two refusals
TOO_MANY = -32003
NEEDS_TOKEN_MESSAGE = ("Tandem: this server needs an access token: send it as initializationOptions.token "
                       "(the Neovim plugin's token_file, VS Code's tandem.server.tokenFile, or TANDEM_TOKEN "
                       "in the editor's environment)")


class ConnectionProtocol(TandemProtocol):
    """One TCP connection: `exit` closes it only (pygls' own calls sys.exit), and with an
    access token nothing is handled before an `initialize` that carries it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.token: bytes | None = None  # set before the first byte is read; None: no token needed
        self.admitted = False
        self.refused = False
        self.peer: object = None
        self.on_admitted: Callable[[], None] = lambda: None

    def handle_message(self, message) -> None:
        given = _take_token(message)  # never reaches pygls, whose `initialize` logs its params
        if not self.admitted:
            if self.refused or (self.token is not None and not self._admit(message, given)):
                return
            self.admitted = True
            self.on_admitted()
        super().handle_message(message)

    def _admit(self, message, given: object) -> bool:
        """Whether this first message is `initialize` with the right token; if not, it is
        answered (when it is a request) and the connection closed."""
        if isinstance(given, str) and hmac.compare_digest(given.encode(), self.token):
            return True
        self.refused = True
        what = ("a wrong access token" if isinstance(given, str) else
                "no access token" if getattr(message, "method", None) == types.INITIALIZE else
                f"{getattr(message, 'method', None) or 'a message'} before initialize with an access token")
        log.warning("refused the editor from %s: %s", self.peer, what)
        if getattr(message, "method", None) is not None and getattr(message, "id", None) is not None:
            self._send_response(message.id, error=types.ResponseError(code=NEEDS_TOKEN, message=NEEDS_TOKEN_MESSAGE))
        if self.writer is not None:
            self.writer.close()
        return False

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args) -> Generator[Any, Any, None]:
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        if self.writer is not None:
            self.writer.close()


def _take_token(message) -> object:
    """`initializationOptions.token` of an `initialize`, removed from it; None otherwise."""
    if getattr(message, "method", None) != types.INITIALIZE:
        return None
    options = getattr(getattr(message, "params", None), "initialization_options", None)
    return options.pop("token", None) if isinstance(options, dict) else None


def _frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, code: int, message: str) -> None:
    """Tell a connection that is not served why: a `window/showMessage` at once, and an error
    answering its first request (its `initialize`) when that comes within `REFUSE_SECONDS`."""
    writer.write(_frame({"jsonrpc": "2.0", "method": types.WINDOW_SHOW_MESSAGE,
                         "params": {"type": types.MessageType.Error.value, "message": message}}))
    framer = Framer(UNADMITTED_MAX_BYTES)
    try:
        async with asyncio.timeout(REFUSE_SECONDS):
            while data := await reader.read(READ_CHUNK):
                first = next((e for e in framer.feed(data) if isinstance(e, Frame)), None)
                if first is not None:
                    if (request_id := _request_id(first.body)) is not None:
                        writer.write(_frame({"jsonrpc": "2.0", "id": request_id,
                                             "error": {"code": code, "message": message}}))
                    break
        await writer.drain()
    except (TimeoutError, OSError):
        pass
    finally:
        writer.close()


def _request_id(body: bytes) -> int | str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    return message.get("id") if isinstance(message, dict) and "method" in message else None


async def listen(host: str, port: int, make_server: Callable[..., Any], models: ModelHost,
                 token: str | None = None, max_connections: int = MAX_CONNECTIONS) -> asyncio.Server:
    """Start accepting connections (see the module's docstring); the listener is returned
    for `serve_forever` (or a test's own loop)."""
    secret = token.encode() if token else None
    attached: set[asyncio.StreamWriter] = set()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if len(attached) >= max_connections:
            log.warning("refused the editor from %s: %d editors are attached, the limit (--max-connections)",
                        peer, max_connections)
            await _refuse(reader, writer, TOO_MANY, (
                f"Tandem: this server already serves {max_connections} editors, its limit "
                "(tandem serve --max-connections); close one, or start another server"))
            return
        attached.add(writer)
        log.info("editor connected from %s", peer)
        server = make_server(host=models, protocol_cls=ConnectionProtocol)
        protocol: ConnectionProtocol = server.protocol
        framer = Framer(UNADMITTED_MAX_BYTES if secret else MAX_MESSAGE_BYTES)
        protocol.token, protocol.peer = secret, peer
        protocol.on_admitted = lambda: setattr(framer, "max_bytes", MAX_MESSAGE_BYTES)
        protocol.set_writer(writer)
        server._stop_event = threading.Event()
        deadline = asyncio.get_running_loop().call_later(ADMIT_SECONDS, _close_unless_admitted, protocol, writer)
        try:
            await read_messages(lambda: reader.read(READ_CHUNK), protocol, server.report_server_error,
                                server.tell_once, server._stop_event, framer)
        except OSError as error:  # a reset connection is a disconnect like any other
            log.info("connection from %s: %s", peer, error)
        finally:
            deadline.cancel()
            attached.discard(writer)
            server.forget_documents()  # its generations have no one to answer any more
            _cancel_pending(protocol)
            writer.close()
            log.info("editor from %s disconnected; still listening", peer)

    listener = await asyncio.start_server(connection, host, port)
    log.info("listening on %s", ", ".join(str(s.getsockname()) for s in listener.sockets))
    return listener


def _close_unless_admitted(protocol: ConnectionProtocol, writer: asyncio.StreamWriter) -> None:
    if not protocol.admitted and not protocol.refused:
        log.warning("closed the connection from %s: no initialize within %.0f s", protocol.peer, ADMIT_SECONDS)
        protocol.refused = True
        writer.close()


def _cancel_pending(protocol: ConnectionProtocol) -> None:
    """Requests to the client that it will never answer now (a progress token being
    created): their waiters end instead of holding the connection's server."""
    for future in list(protocol._request_futures.values()):
        future.cancel()
    protocol._request_futures.clear()


def serve_tcp(host: str, port: int, make_server: Callable[..., Any], token: str | None = None,
              max_connections: int = MAX_CONNECTIONS) -> None:
    """Accept connections until the process is stopped; `make_server(host=, protocol_cls=)`
    builds one TandemServer per connection around the shared ModelHost."""
    models = ModelHost()

    async def run() -> None:
        listener = await listen(host, port, make_server, models, token, max_connections)
        async with listener:
            await listener.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        models.shutdown()
