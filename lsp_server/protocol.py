"""pygls' protocol, made to answer every request that has an id.

pygls drops a request whose params do not fit their type (it tells the user, and the
client waits forever), and drops requests before `initialize` and after `shutdown`
without an answer. Here each gets its JSON-RPC error: -32602 naming the field, -32002
before `initialize`, -32600 after `shutdown`. `exit` without `shutdown` ends with 1.

Two more departures from pygls, both about what it keeps:
- It files the future of every notification (and of every step of its built-in handlers)
  in `_request_futures` and never takes it out: ~1.8 kB per keystroke, forever. Here a
  finished future leaves at once; only requests still running stay.
- It applies incremental changes to a document without checking their ranges (an edit past
  the end silently replaces the whole text). Here it leaves the text to the server's own
  `didChange` handler, which validates every range (see `TandemServer.apply_changes`).
"""

from __future__ import annotations

import logging
from typing import Any

from cattrs import transform_error
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger(__name__)

_ANSWERED = object()  # a request already answered with an error: nothing more to do


class TandemProtocol(LanguageServerProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.initialize_seen = False
        self.exit_code: int | None = None  # set by `exit`: 0 after `shutdown`, else 1

    # pygls caches these two in class-wide `lru_cache`s keyed by the protocol itself, which kept
    # the last ~30 closed TCP connections' protocols and servers (and their documents) alive.
    def get_message_type(self, method: str):
        return types.METHOD_TO_TYPES.get(method, (None,))[0]

    def get_result_type(self, method: str):
        return types.METHOD_TO_TYPES.get(method, (None, None))[1]

    def structure_message(self, data: dict[str, Any]):
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if not _is_request(data):
                raise  # a notification or response: pygls reports it, nobody waits for it
            self._answer_error(data["id"], JsonRpcInvalidParams(
                f"invalid params for {data['method']}: {_what_is_wrong(error)}"))
            return _ANSWERED

    def handle_message(self, message) -> None:
        if message is _ANSWERED:
            return
        method = getattr(message, "method", None)
        is_request = method is not None and getattr(message, "id", None) is not None
        if method == types.INITIALIZE:
            self.initialize_seen = True
        elif not self.initialize_seen and method != types.EXIT:
            if is_request:
                self._answer_error(message.id, JsonRpcServerNotInitialized(
                    f"{method} before initialize: send initialize first"))
            return  # notifications before initialize are dropped, as the spec says
        if self._shutdown and is_request and method != types.EXIT:
            self._answer_error(message.id, JsonRpcInvalidRequest(f"{method} after shutdown: the server is shutting down"))
            return
        if method == types.EXIT:
            self.exit_code = 0 if self._shutdown else 1
        super().handle_message(message)

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None) -> None:
        def forget_then(future) -> None:
            # Not a newer one under a reused id; not a cancelled one: pygls cancels those while
            # it iterates the dict (at shutdown), and `$/cancelRequest` has taken it out already.
            if not future.cancelled() and self._request_futures.get(msg_id) is future:
                del self._request_futures[msg_id]
            callback(future)

        super()._execute_handler(msg_id, handler, forget_then, args, kwargs)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        """The text is the server's handler's to change: pygls would apply ranges unchecked."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    def _answer_error(self, msg_id, error: JsonRpcException) -> None:
        log.warning("answered request %s with error %d: %s", msg_id, error.code, error.message)
        self._send_response(msg_id, error=types.ResponseError(code=error.code, message=error.message))


def _is_request(data: Any) -> bool:
    return isinstance(data, dict) and "method" in data and data.get("id") is not None


def _what_is_wrong(error: JsonRpcException) -> str:
    """The fields that did not fit, as cattrs words them (`… @ $.params.position.line`)."""
    cause = error.__cause__
    try:
        problems = transform_error(cause, path="$") if cause is not None else []
    except Exception:  # not a cattrs validation error: its own words
        problems = []
    return "; ".join(problems) or (str(cause) if cause is not None else "they do not fit the method's type")
