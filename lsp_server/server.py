"""The pygls server: state, settings, model loading with progress, and the LSP handlers.

Handlers are glue: find the document, convert the position, hand the request to the
connection's request policy (`lsp_server/requests.py`), convert the result.

Documents sync incrementally, and Tandem trusts no range: a change that does not lie
within its document's text (or would take open documents past their memory limits) is
not applied. LSP has no way to ask for a document's text again, so the document then
keeps its last good text and its completions stop, said once, until the editor sends its
whole text (a reopen, or a full-text change): suggestions computed on a text that is not
the user's would be inserted at wrong places, which is worse than none.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import uuid
from dataclasses import replace
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from completion.crossfile import OpenDocument
from completion.documents import EVICTED, DocumentTrees
from completion.service import CompletionRequest
from lsp_server import __version__
from lsp_server.connection import READ_CHUNK, read_messages
from lsp_server.methods import STATUS_METHOD
from lsp_server.model_host import FAILED, ModelHost
from lsp_server.protocol import TandemProtocol
from lsp_server.positions import PositionError, offset_at, position_of, replace_range
from lsp_server.requests import RequestPolicy
from lsp_server.settings import parse_settings

log = logging.getLogger(__name__)


class TandemServer(LanguageServer):
    def __init__(self, initial_settings: dict | None = None, host: ModelHost | None = None,
                 protocol_cls=None) -> None:
        # The model worker runs Python between torch calls; a shorter GIL switch interval
        # keeps the event loop (reading keystrokes, answering type-through) responsive.
        sys.setswitchinterval(0.001)
        super().__init__("tandem", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         protocol_cls=protocol_cls or TandemProtocol)
        self.settings, problems = parse_settings(initial_settings)
        self.starting_settings = self.settings  # what a setting the editor leaves unset (null) returns to
        self.startup_problems = problems
        # The models' worker; over TCP one is shared by every connection, which must not stop it.
        self.owns_host = host is None
        self.host = host if host is not None else ModelHost()
        self.models = self.host.lease()  # this connection's own models, state and error
        self.trees = DocumentTrees()  # a tree-sitter tree per open document, kept incrementally
        self.refused: dict[str, str] = {}  # unquoted uri → why its completions stop (see the module's doc)
        self.requests = RequestPolicy(self.models, self.document_version, self.tell_user)
        self.client_initialized = False  # the client sent `initialized`: requests to it are allowed
        self._first_load: asyncio.Future | None = None
        self._told_kinds: set[str] = set()

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

    def tell_once(self, kind: str, message: str) -> None:
        """A problem that may repeat (a stream of broken frames): shown once per kind, logged always."""
        log.warning("%s", message)
        if kind not in self._told_kinds:
            self._told_kinds.add(kind)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=f"Tandem: {message}"))

    # -- transport ---------------------------------------------------------------------
    def start_io(self, stdin=None, stdout=None) -> None:
        """LSP over stdio through Tandem's own frame reader (see lsp_server/framing.py)."""
        self._stop_event = threading.Event()
        stdin = stdin or sys.stdin.buffer
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def read() -> bytes:
            return await asyncio.get_running_loop().run_in_executor(self.thread_pool, stdin.read1, READ_CHUNK)

        try:
            asyncio.run(self.read_messages(read))
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    async def read_messages(self, read) -> None:
        await read_messages(read, self.protocol, self.report_server_error, self.tell_once, self._stop_event)

    # -- settings and models ------------------------------------------------------------
    def apply_settings(self, raw: object) -> bool:
        """Take new settings; True when the models must be reloaded. Decoding settings need
        nothing more: every request carries this connection's own."""
        previous = self.settings
        self.settings, problems = parse_settings(raw, self.settings, self.starting_settings)
        changed = {k: v for k, v in self.settings.model_dump(by_alias=True).items()
                   if previous.model_dump(by_alias=True)[k] != v}
        if changed:
            log.info("settings changed: %s", changed)
        for problem in problems:
            self.tell_user(problem)
        return self.settings.pair_spec() != previous.pair_spec()

    def start_loading(self) -> asyncio.Future:
        """The first load, started once: at `initialized`, or at the first request of a client
        that never sends it (its requests would otherwise wait for models forever)."""
        if self._first_load is None:
            self._first_load = asyncio.ensure_future(self.load_models())
        return self._first_load

    async def load_models(self) -> None:
        token = str(uuid.uuid4())
        progress = self.client_initialized and self._supports_progress()
        if progress:
            try:
                await self.work_done_progress.create_async(token)
                self.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                    title="Tandem", message="loading models", cancellable=False))
            except Exception as error:  # a client that refuses progress still gets models
                log.info("no progress reporting: %s", error)
                progress = False
        outcome = await self.models.load(self.settings.pair_spec())
        if progress:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=outcome.state))
        if outcome.message:
            kind = types.MessageType.Error if outcome.state == FAILED else types.MessageType.Warning
            self.tell_user(outcome.message, kind)

    def _supports_progress(self) -> bool:
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)

    # -- documents and positions ----------------------------------------------------------
    def open_document(self, uri: str) -> TextDocument | None:
        """pygls' copy of an open document. pygls keys documents by their unquoted URI
        (`file:///my%20project/x.py` as `file:///my project/x.py`), so every lookup goes
        through here, never through `uri in workspace.text_documents`."""
        return self.workspace.text_documents.get(unquote(uri))

    def document_text(self, uri: str) -> str:
        if (document := self.open_document(uri)) is None:
            raise JsonRpcInvalidParams(f"document {uri} is not open: send textDocument/didOpen first")
        return document.source

    def document_version(self, uri: str) -> int | None:
        document = self.open_document(uri)
        return document.version if document is not None else None

    def cursor_offset(self, uri: str, text: str, position: types.Position) -> int:
        try:
            return offset_at(text, position.line, position.character, self.position_encoding())
        except PositionError as error:
            raise JsonRpcInvalidParams(f"{error} in {uri}") from None

    def position_encoding(self) -> str:
        encoding = self.workspace.position_encoding
        return str(encoding.value if hasattr(encoding, "value") else encoding or "utf-16")

    def sync_tree(self, uri: str) -> None:
        """Bring the document's tree to pygls' version of its text (trees follow by version),
        rebuilding one dropped for memory."""
        document = self.open_document(uri)
        tree = self.trees.get(uri)
        if tree is None or tree.version != document.version or document.version is None \
                or tree.skipped_reason == EVICTED:
            self.trees.update(uri, document.source, document.version)
        else:
            self.trees.touch(uri)

    def admit(self, document: types.TextDocumentItem) -> bool:
        """A document just opened (pygls holds it already): True when Tandem keeps it; else it
        is dropped, and why is said once and kept for its requests."""
        self.resync(document.uri)
        self.trees.close(document.uri)  # a reopen replaces the old text
        if (why := self.trees.room_for(document.uri, len(document.text))) is None:
            return True
        self.workspace.remove_text_document(document.uri)
        self.refused[unquote(document.uri)] = f"it is not tracked: {why}"
        self.tell_once("documents-full", f"{_name(document.uri)} is not tracked, so it gets no completions: {why}.")
        return False

    def apply_changes(self, params: types.DidChangeTextDocumentParams) -> bool:
        """Apply a didChange's changes, in order, to Tandem's copy; True when the copy is
        the editor's text. A change that does not fit (see the module's doc) is not applied:
        the copy keeps the text before it and is out of sync until a whole text arrives."""
        uri, version = params.text_document.uri, params.text_document.version
        if (document := self.open_document(uri)) is None:
            log.log(logging.DEBUG if unquote(uri) in self.refused else logging.WARNING,
                    "ignored a change to %s, which is not open", uri)
            return False
        text, problem = document.source, self.refused.get(unquote(uri))
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangeWholeDocument):
                text, problem = change.text, None
            elif problem is None:  # once out of sync, ranges refer to a text we do not have
                start, end = change.range.start, change.range.end
                try:
                    text = replace_range(text, (start.line, start.character), (end.line, end.character),
                                         change.text, self.position_encoding())
                except PositionError as error:
                    problem = f"a change to it does not fit its text ({error})"
        if problem is None and (why := self.trees.room_for(uri, len(text))) is not None:
            text, problem = document.source, f"a change would make it too large: {why}"
        if text is not document.source:
            document.apply_change(types.TextDocumentContentChangeWholeDocument(text=text))
        document.version = version  # a request still running for an older version is then stale
        if problem is None:
            self.resync(uri)
        elif unquote(uri) not in self.refused:
            self.refused[unquote(uri)] = problem
            self.tell_once(f"out-of-sync {unquote(uri)}", (
                f"{_name(uri)} is out of sync: {problem}. Its completions stop until the editor sends its "
                "whole text again: close and reopen it."))
        return problem is None

    def resync(self, uri: str) -> None:
        if self.refused.pop(unquote(uri), None) is not None:
            log.info("%s is in sync again", uri)
            self._told_kinds.discard(f"out-of-sync {unquote(uri)}")

    def request_for(self, uri: str, offset: int) -> CompletionRequest:
        """The request at `offset` in the current version of `uri`, with this connection's
        settings: its tree snapshot is of exactly that text."""
        self.sync_tree(uri)
        document = self.trees.get(uri)
        others = tuple(OpenDocument(d.uri, d.source, d.tree) for d in self.trees.others(uri) if d.tree is not None)
        return CompletionRequest(document.text, offset, self.settings.completion_options(), uri, document, others)

    def inline_items(self, text: str, offset: int, insert: str, replace_chars: int) -> types.InlineCompletionList:
        encoding = self.position_encoding()
        here = types.Position(*position_of(text, offset, encoding))
        # A suggestion may replace the auto-closed tail right of the cursor (`)` → `x).strip()`).
        end = types.Position(*position_of(text, offset + replace_chars, encoding))
        return types.InlineCompletionList(items=[types.InlineCompletionItem(
            insert_text=insert, range=types.Range(here, end))])

    def warm(self, uri: str) -> None:
        """Prefill the prompt for the end of a newly opened document in the background (a
        guess at where typing starts)."""
        text = self.document_text(uri)
        request = self.request_for(uri, len(text.rstrip()))
        options = replace(request.options, max_new_tokens=1, time_budget_ms=0)
        self.requests.warm(replace(request, options=options))

    def forget_documents(self) -> None:
        """The editor left: stop what runs for its documents; its models stay warm."""
        self.requests.forget_all()
        self.models.release()


def _name(uri: str) -> str:
    """A document as the user knows it: its file name."""
    return unquote(uri).rstrip("/").rsplit("/", 1)[-1] or uri


def create_server(initial_settings: dict | None = None, host: ModelHost | None = None,
                  protocol_cls=None) -> TandemServer:
    server = TandemServer(initial_settings, host, protocol_cls)

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: TandemServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: TandemServer, params: types.InitializedParams) -> None:
        ls.client_initialized = True
        for problem in ls.startup_problems:
            ls.tell_user(problem)
        await ls.start_loading()

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

    # pygls keeps the text (its copy, changed by `apply_changes`); the trees follow it.
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: TandemServer, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        if ls.admit(document):
            ls.trees.open(document.uri, document.text, document.language_id, document.version)
            ls.warm(document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: TandemServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if ls.apply_changes(params):
            document = ls.open_document(uri)
            ls.trees.update(uri, document.source, document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: TandemServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.requests.forget(uri)  # a generation still running for it has no one to answer
        ls.trees.close(uri)
        ls.resync(uri)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def on_inline_completion(ls: TandemServer, params: types.InlineCompletionParams):
        ls.start_loading()
        uri = params.text_document.uri
        if (why := ls.refused.get(unquote(uri))) is not None:  # said once, when it happened
            log.info("no completion in %s: %s", uri, why)
            return types.InlineCompletionList(items=[])
        text = ls.document_text(uri)
        offset = ls.cursor_offset(uri, text, params.position)
        suggestion = await ls.requests.suggest(ls.request_for(uri, offset), ls.settings.debounce_ms)
        if suggestion is None:
            return types.InlineCompletionList(items=[])
        return ls.inline_items(text, offset, suggestion.text, suggestion.replace_chars)

    @server.feature(STATUS_METHOD)
    def on_status(ls: TandemServer, params) -> dict:
        ls.start_loading()
        return {**ls.models.describe(), "settings": ls.settings.model_dump(by_alias=True),
                "stats": ls.requests.stats.as_dict(), "version": __version__}

    @server.feature(types.SHUTDOWN)
    def on_shutdown(ls: TandemServer, params) -> None:
        ls.forget_documents()
        if ls.owns_host:
            ls.host.shutdown()

    return server
