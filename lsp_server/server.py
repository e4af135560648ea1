"""The pygls server: state, settings, model loading with progress, and the LSP handlers.

Handlers are glue: find the document, convert the position, call the completion
service on the model worker, convert the result.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import threading
import time
import uuid
from dataclasses import replace

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from completion.cache import SuggestionCache
from completion.crossfile import OpenDocument
from completion.documents import DocumentTrees
from completion.service import CompletionRequest, CompletionResult
from lsp_server import __version__
from lsp_server.methods import STATUS_METHOD
from lsp_server.model_host import FAILED, ModelHost
from lsp_server.positions import PositionError, offset_at, position_of
from lsp_server.settings import parse_settings
from lsp_server.stats import RunningStats
from models.pair import PairSpec

log = logging.getLogger(__name__)

READER_CATCH_UP_SECONDS = 0.003


class TandemServer(LanguageServer):
    def __init__(self, initial_settings: dict | None = None, host: ModelHost | None = None,
                 protocol_cls=None) -> None:
        # The model worker runs Python between torch calls; a shorter GIL switch interval
        # keeps the event loop (reading keystrokes, answering type-through) responsive.
        sys.setswitchinterval(0.001)
        extra = {"protocol_cls": protocol_cls} if protocol_cls is not None else {}
        super().__init__("tandem", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full, **extra)
        self.settings, problems = parse_settings(initial_settings)
        self.startup_problems = problems
        # The models' worker; over TCP one is shared by every connection, which must not stop it.
        self.owns_host = host is None
        self.host = host if host is not None else ModelHost()
        self.host.configure(self.settings.decoding_config())
        self.stats = RunningStats()
        self._request_ids = itertools.count(1)
        self._newest: dict[str, threading.Event] = {}  # uri → cancel flag of its newest request
        self.trees = DocumentTrees()  # a tree-sitter tree per open document, kept incrementally
        self._told: set[str] = set()  # warnings already shown, so each is shown once
        self.suggestions = SuggestionCache()  # type-through: answers without the models

    # -- messages -----------------------------------------------------------------------
    def tell_user(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        log.warning("%s", message) if kind != types.MessageType.Error else log.error("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"Tandem: {message}"))

    def report_server_error(self, error: Exception, source) -> None:
        """A message that is not valid UTF-8 cannot be read at all: say what it costs."""
        if isinstance(error, UnicodeDecodeError):
            log.error("dropped a message that is not valid UTF-8: %s", error)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=(
                "Tandem: the editor sent a message that is not valid UTF-8, so it was dropped; "
                "documents keep their last readable text until their next change.")))
            return
        super().report_server_error(error, source)

    # -- settings and models ------------------------------------------------------------
    def pair_spec(self) -> PairSpec:
        s = self.settings
        return PairSpec(s.draft_model, s.target_model, s.device, s.dtype, s.engine)

    def apply_settings(self, raw: object) -> bool:
        """Take new settings; True when the models must be reloaded."""
        before, previous = self.pair_spec(), self.settings
        self.settings, problems = parse_settings(raw, self.settings)
        changed = {k: v for k, v in self.settings.model_dump(by_alias=True).items()
                   if previous.model_dump(by_alias=True)[k] != v}
        if changed:
            log.info("settings changed: %s", changed)
        for problem in problems:
            self.tell_user(problem)
        self.host.configure(self.settings.decoding_config())
        return self.pair_spec() != before

    async def load_models(self) -> None:
        token = str(uuid.uuid4())
        progress = self._supports_progress()
        if progress:
            try:
                await self.work_done_progress.create_async(token)
                self.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                    title="Tandem", message="loading models", cancellable=False))
            except Exception as error:  # a client that refuses progress still gets models
                log.info("no progress reporting: %s", error)
                progress = False
        outcome = await self.host.load(self.pair_spec())
        if progress:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=outcome.state))
        if outcome.message:
            kind = types.MessageType.Error if outcome.state == FAILED else types.MessageType.Warning
            self.tell_user(outcome.message, kind)

    def _supports_progress(self) -> bool:
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)

    # -- completion -----------------------------------------------------------------------
    def document_text(self, uri: str) -> str:
        if uri not in self.workspace.text_documents:
            raise JsonRpcInvalidParams(f"document {uri} is not open: send textDocument/didOpen first")
        return self.workspace.get_text_document(uri).source

    def cursor_offset(self, uri: str, text: str, position: types.Position) -> int:
        try:
            return offset_at(text, position.line, position.character, self.position_encoding())
        except PositionError as error:
            raise JsonRpcInvalidParams(f"{error} in {uri}") from None

    def position_encoding(self) -> str:
        encoding = self.workspace.position_encoding
        return str(encoding.value if hasattr(encoding, "value") else encoding or "utf-16")

    def request_for(self, uri: str, text: str, offset: int) -> CompletionRequest:
        document = self.trees.get(uri)
        others = tuple(OpenDocument(d.uri, d.source, d.tree) for d in self.trees.others(uri) if d.tree is not None)
        return CompletionRequest(text, offset, self.settings.completion_options(), uri, document, others)

    def warm(self, uri: str) -> None:
        """Prefill the prompt for the end of a newly opened document in the background (a
        guess at where typing starts); any real request for it cancels the warm-up."""
        text = self.document_text(uri)
        cancelled = threading.Event()
        self._newest.setdefault(uri, cancelled)
        options = replace(self.settings.completion_options(), max_new_tokens=1, time_budget_ms=0)
        request = replace(self.request_for(uri, text, len(text.rstrip())), options=options)
        self.host.prefill_in_background(request, cancelled)

    def inline_items(self, text: str, offset: int, insert: str, replace_chars: int) -> types.InlineCompletionList:
        encoding = self.position_encoding()
        here = types.Position(*position_of(text, offset, encoding))
        # A suggestion may replace the auto-closed tail right of the cursor (`)` → `x).strip()`).
        end = types.Position(*position_of(text, offset + replace_chars, encoding))
        return types.InlineCompletionList(items=[types.InlineCompletionItem(
            insert_text=insert, range=types.Range(here, end))])

    def warn_once(self, warnings: tuple[str, ...]) -> None:
        for warning in warnings:
            if warning not in self._told:
                self._told.add(warning)
                self.tell_user(warning)

    def forget_documents(self) -> None:
        """The editor left: stop what runs for its documents."""
        for uri in list(self._newest):
            self.supersede(uri)

    def supersede(self, uri: str) -> None:
        """A newer request for `uri` arrived: the older one stops at its next round."""
        if (older := self._newest.pop(uri, None)) is not None:
            older.set()

    def document_version(self, uri: str) -> int | None:
        if uri not in self.workspace.text_documents:
            return None
        return self.workspace.get_text_document(uri).version

    async def complete(self, uri: str, text: str, offset: int) -> CompletionResult | None:
        """Newest request per document wins: an older one is cancelled between tokens, and
        an answer for a version of the document that is no longer current is dropped."""
        request_id = next(self._request_ids)
        cancelled = threading.Event()
        self.supersede(uri)
        self._newest[uri] = cancelled
        version = self.document_version(uri)
        started = time.perf_counter()
        try:
            if self.settings.debounce_ms:
                await asyncio.sleep(self.settings.debounce_ms / 1000)
            if cancelled.is_set():
                self.stats.cancelled += 1
                return None
            result = await self.host.complete(self.request_for(uri, text, offset), cancelled)
        except asyncio.CancelledError:  # $/cancelRequest: stop the worker at the next token
            cancelled.set()
            self.stats.cancelled += 1
            raise
        except Exception:
            self.stats.failed += 1
            log.exception("request %d failed", request_id)
            raise
        finally:
            if self._newest.get(uri) is cancelled:
                del self._newest[uri]
        latency_ms = (time.perf_counter() - started) * 1000
        if result is None:
            return None
        if result.stop_reason == "cancelled":  # superseded: its partial text is stale
            self.stats.cancelled += 1
            return None
        # A change sent while the worker ran may still be in the reader (pygls reads each
        # message in several executor round trips): give it a moment to land.
        await asyncio.sleep(READER_CATCH_UP_SECONDS)
        if self.document_version(uri) != version:  # typed on meanwhile: never show stale text
            self.stats.stale += 1
            return None
        self.warn_once(result.warnings)
        if result.text:
            self.suggestions.remember(uri, text, offset, result.text, result.replace_chars)
        self.stats.record(latency_ms, result, {
            "mode": result.mode, "reason": result.reason, "promptFormat": result.prompt_format,
            "promptTokens": result.prompt_tokens, "newTokens": result.new_tokens,
            "drafted": result.drafted, "accepted": result.accepted, "targetPasses": result.target_passes,
            "stopReason": result.stop_reason, "syntaxError": result.syntax_error, "snippets": list(result.snippets),
            "guarded": result.guarded, "reusedPromptTokens": result.reused_prompt_tokens,
            "stageMs": result.stage_ms})
        log.info("request=%d uri=%s mode=%s (%s) format=%s prompt_tokens=%d new_tokens=%d accepted=%d/%d "
                 "target_passes=%d stop=%s snippets=%d guarded=%s latency_ms=%.1f stages=%s", request_id, uri,
                 result.mode, result.reason, result.prompt_format, result.prompt_tokens, result.new_tokens, result.accepted,
                 result.drafted, result.target_passes, result.stop_reason, len(result.snippets), result.guarded,
                 latency_ms, result.stage_ms)
        return result


def create_server(initial_settings: dict | None = None, host: ModelHost | None = None,
                  protocol_cls=None) -> TandemServer:
    server = TandemServer(initial_settings, host, protocol_cls)

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: TandemServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: TandemServer, params: types.InitializedParams) -> None:
        for problem in ls.startup_problems:
            ls.tell_user(problem)
        await ls.load_models()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: TandemServer, params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        if not raw:  # pull-model clients send null and expect us to ask
            try:
                raw = (await ls.workspace_configuration_async(types.ConfigurationParams(
                    items=[types.ConfigurationItem(section="tandem")])))[0]
            except Exception as error:
                log.info("workspace/configuration failed: %s", error)
                return
        if ls.apply_settings(raw):
            await ls.load_models()

    # pygls keeps the text (full sync); these keep each document's tree in step with it.
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: TandemServer, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        ls.trees.open(document.uri, document.text, document.language_id, document.version)
        ls.warm(document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: TandemServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri in ls.workspace.text_documents:
            ls.trees.update(uri, ls.workspace.get_text_document(uri).source, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: TandemServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.supersede(uri)  # a generation still running for it has no one to answer
        ls.trees.close(uri)
        ls.suggestions.forget(uri)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def on_inline_completion(ls: TandemServer, params: types.InlineCompletionParams):
        started = time.perf_counter()
        uri = params.text_document.uri
        text = ls.document_text(uri)
        offset = ls.cursor_offset(uri, text, params.position)
        cached = ls.suggestions.lookup(uri, text, offset)
        if cached is not None:  # typing through a suggestion: the rest, without the models
            ls.supersede(uri)
            ls.stats.record_type_through((time.perf_counter() - started) * 1000)
            return ls.inline_items(text, offset, cached.text, cached.replace_chars)
        result = await ls.complete(uri, text, offset)
        if result is None or not result.text:
            return types.InlineCompletionList(items=[])
        return ls.inline_items(text, offset, result.text, result.replace_chars)

    @server.feature(STATUS_METHOD)
    def on_status(ls: TandemServer, params) -> dict:
        return {**ls.host.describe(), "settings": ls.settings.model_dump(by_alias=True),
                "stats": ls.stats.as_dict(), "version": __version__}

    @server.feature(types.SHUTDOWN)
    def on_shutdown(ls: TandemServer, params) -> None:
        ls.forget_documents()
        if ls.owns_host:
            ls.host.shutdown()

    return server
