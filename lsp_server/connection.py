"""The read loop of one connection (stdio or TCP), in place of pygls' own: bytes through
the defensive `Framer`, whole messages to the protocol, and one clear word for anything
that could not be read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_server.framing import Dropped, Frame, Framer, request_id_in
from lsp_server.protocol import TandemProtocol

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 2**10
PARSE_ERROR = -32700


async def read_messages(read: Callable[[], Awaitable[bytes]], protocol: TandemProtocol,
                        report_error: Callable[[Exception, type], None], tell_user: Callable[[str, str], None],
                        stop: threading.Event, framer: Framer | None = None) -> None:
    """Until the stream ends (or `stop`): frame, decode and hand each message on. A frame
    that cannot be read is logged and told once per kind; a request among its bytes is
    answered with a parse error, so the client does not wait for it. `framer`: one with
    its own size limit (a TCP connection not yet admitted reads small messages only)."""
    framer = framer or Framer()
    while not stop.is_set():
        data = await read()
        if not data:
            break
        for event in framer.feed(data):
            if isinstance(event, Dropped):
                _dropped(protocol, event, tell_user)
                continue
            try:
                message = json.loads(event.body, object_hook=protocol.structure_message)
            except UnicodeDecodeError as error:  # said in its own words by the server
                report_error(error, JsonRpcException)
                continue
            except ValueError as error:
                _dropped(protocol, Dropped("not-json", f"a message that is not JSON ({error})", event.body[:4096]),
                         tell_user)
                continue
            try:
                protocol.handle_message(message)
            except Exception as error:  # one bad message never ends the loop
                log.exception("Unable to handle message")
                report_error(error, JsonRpcException)
            # pygls starts an async handler as a task; let it take its snapshot of the
            # document now, before the next message of this chunk (a change, a didClose)
            # is applied: a request is read against the text it was sent for.
            await asyncio.sleep(0)


def _dropped(protocol: TandemProtocol, dropped: Dropped, tell_user: Callable[[str, str], None]) -> None:
    """`tell_user(kind, message)`: the server shows each kind once."""
    request_id = request_id_in(dropped.head)
    log.warning("dropped %s%s", dropped.reason, f" (request {request_id})" if request_id is not None else "")
    if request_id is not None:
        protocol._send_response(request_id, error=types.ResponseError(
            code=PARSE_ERROR, message=f"Tandem could not read this request: {dropped.reason}"))
    tell_user(dropped.kind, f"dropped {dropped.reason}; reading goes on from the next message")
