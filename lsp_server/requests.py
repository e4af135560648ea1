"""The request policy of one connection, apart from pygls so it is testable on its own.

Newest request per document wins (an older one is cancelled between tokens), debounce,
`$/cancelRequest`, a dropped answer when the document changed meanwhile, type-through
answers from the suggestion cache, warnings shown once, statistics and one log line per
request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from completion.cache import SuggestionCache
from completion.service import CompletionRequest, CompletionResult
from lsp_server.stats import RunningStats
from models.errors import RemoteError
from models.records import StopReason

if TYPE_CHECKING:  # the policy needs only its `complete`/`prefill_in_background`: no torch here
    from lsp_server.model_host import ModelLease

log = logging.getLogger(__name__)

# A change sent while the worker ran may still be in the reader (pygls reads each message
# in several executor round trips): give it this long to land before the stale check.
READER_CATCH_UP_SECONDS = 0.003


@dataclass(frozen=True)
class Suggestion:
    text: str
    replace_chars: int  # code points right of the cursor the text replaces


def _fields(summary: dict) -> str:
    """logfmt: `key=value`, one shell-style token each (text with spaces JSON-quoted), nested
    values flattened (`stageMs.generate=…`), lists by their length."""
    def one(value) -> str:
        if isinstance(value, str):
            return value if value and not any(c in value for c in ' "\\=') else json.dumps(value, ensure_ascii=False)
        return str(len(value)) if isinstance(value, (list, tuple)) else str(value)
    pairs = []
    for key, value in summary.items():
        if isinstance(value, dict):
            pairs.extend((f"{key}.{sub}", v) for sub, v in value.items())
        else:
            pairs.append((key, value))
    return " ".join(f"{key}={one(value)}" for key, value in pairs)


class RequestPolicy:
    def __init__(self, models: "ModelLease", document_version: Callable[[str], int | None],
                 tell_user: Callable[[str], None]) -> None:
        self.models = models
        self._version = document_version
        self._tell_user = tell_user
        self.stats = RunningStats()
        self.suggestions = SuggestionCache()
        self._request_ids = itertools.count(1)
        self._newest: dict[str, threading.Event] = {}  # uri → cancel flag of its newest request
        self._waiting: dict[threading.Event, asyncio.Task] = {}  # cancel flag → its wait for the models
        self._told: set[str] = set()

    async def suggest(self, request: CompletionRequest, debounce_ms: int = 0) -> Suggestion | None:
        """The suggestion to show for `request`, or None."""
        started = time.perf_counter()
        cached = self.suggestions.lookup(request.uri, request.text, request.offset)
        if cached is not None:  # typing through a suggestion: the rest, without the models
            self.supersede(request.uri)
            self.stats.record_type_through((time.perf_counter() - started) * 1000)
            return Suggestion(cached.text, cached.replace_chars)
        result = await self._complete(request, debounce_ms)
        if result is None or not result.text:
            return None
        return Suggestion(result.text, result.replace_chars)

    async def _complete(self, request: CompletionRequest, debounce_ms: int) -> CompletionResult | None:
        uri = request.uri
        request_id = next(self._request_ids)
        cancelled = threading.Event()
        self.supersede(uri)
        self._newest[uri] = cancelled
        version = self._version(uri)
        started = time.perf_counter()
        try:
            if debounce_ms:
                await asyncio.sleep(debounce_ms / 1000)
            if cancelled.is_set():
                self.stats.cancelled += 1
                return None
            # Its own task, so that a newer request answers this one at once (see supersede).
            work = asyncio.ensure_future(self.models.complete(request, cancelled))
            self._waiting[cancelled] = work
            try:
                await asyncio.wait({work})
            except asyncio.CancelledError:
                work.cancel()
                raise
            if work.cancelled():  # superseded while it waited or ran
                self.stats.cancelled += 1
                return None
            result = work.result()
        except asyncio.CancelledError:  # $/cancelRequest: stop the worker at the next token
            cancelled.set()
            self.stats.cancelled += 1
            raise
        except RemoteError as error:  # the team's server failed this one: say so once, keep serving
            self.stats.failed += 1
            log.warning("request %d: %s", request_id, error)
            self.warn_once(str(error))
            return None
        except Exception:
            self.stats.failed += 1
            log.exception("request %d failed", request_id)
            raise
        finally:
            self._waiting.pop(cancelled, None)
            if self._newest.get(uri) is cancelled:
                del self._newest[uri]
        latency_ms = (time.perf_counter() - started) * 1000
        if result is None and not cancelled.is_set():  # no usable models: the lease said why
            return None
        if result is None or result.stop_reason == StopReason.CANCELLED:  # superseded: its partial text is stale
            self.stats.cancelled += 1
            return None
        await asyncio.sleep(READER_CATCH_UP_SECONDS)
        if self._version(uri) != version:  # typed on meanwhile: never show stale text
            self.stats.stale += 1
            return None
        for warning in result.warnings:
            self.warn_once(warning)
        if result.text:
            self.suggestions.remember(uri, request.text, request.offset, result.text, result.replace_chars)
        self.stats.record(latency_ms, result)
        log.info("request=%d uri=%s latencyMs=%.1f %s", request_id, uri, latency_ms, _fields(result.summary()))
        return result

    def warm(self, request: CompletionRequest) -> None:
        """Prefill `request`'s prompt in the background; any real request for its document
        cancels the warm-up."""
        cancelled = threading.Event()
        self._newest.setdefault(request.uri, cancelled)
        self.models.prefill_in_background(request, cancelled)

    def warn_once(self, warning: str) -> None:
        if warning not in self._told:
            self._told.add(warning)
            self._tell_user(warning)

    def supersede(self, uri: str) -> None:
        """A newer request for `uri` arrived (or it closed): the older one stops at its next round."""
        if (older := self._newest.pop(uri, None)) is not None:
            older.set()
            # Its client gets its (empty) answer now, not when the worker reaches it, and
            # its document snapshot is freed (lsp_server/model_host.py, _QueuedCompletion).
            if (waiting := self._waiting.pop(older, None)) is not None:
                waiting.cancel()

    def forget(self, uri: str) -> None:
        """The document closed."""
        self.supersede(uri)
        self.suggestions.forget(uri)

    def forget_all(self) -> None:
        """The editor left: stop what runs for its documents."""
        for uri in list(self._newest):
            self.supersede(uri)
