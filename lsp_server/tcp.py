"""`tandem serve --tcp`: headless, for an editor attached from outside a dev container.

pygls' own TCP mode ends the process when its one client leaves. Here every connection
gets a server of its own (workspace, settings, statistics) while the models, loaded
once, are shared: an editor can disconnect, reconnect, or be replaced by another one,
and the models stay warm. A client's `exit` ends its connection, not the process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

from lsprotocol import types
from pygls.protocol.language_server import lsp_method

from lsp_server.connection import READ_CHUNK
from lsp_server.model_host import ModelHost
from lsp_server.protocol import TandemProtocol

log = logging.getLogger(__name__)


class ConnectionProtocol(TandemProtocol):
    """`exit` closes this connection only (pygls' own calls sys.exit)."""

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args) -> Generator[Any, Any, None]:
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        if self.writer is not None:
            self.writer.close()


def serve_tcp(host: str, port: int, make_server: Callable[..., Any]) -> None:
    """Accept connections until the process is stopped; `make_server(host=, protocol_cls=)`
    builds one TandemServer per connection around the shared ModelHost."""
    models = ModelHost()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        log.info("editor connected from %s", peer)
        server = make_server(host=models, protocol_cls=ConnectionProtocol)
        server.protocol.set_writer(writer)
        server._stop_event = threading.Event()
        try:
            await server.read_messages(lambda: reader.read(READ_CHUNK))
        finally:
            server.forget_documents()  # its generations have no one to answer any more
            writer.close()
            log.info("editor from %s disconnected; still listening", peer)

    async def listen() -> None:
        listener = await asyncio.start_server(connection, host, port)
        log.info("listening on %s", ", ".join(str(s.getsockname()) for s in listener.sockets))
        async with listener:
            await listener.serve_forever()

    try:
        asyncio.run(listen())
    except KeyboardInterrupt:
        pass
    finally:
        models.shutdown()
