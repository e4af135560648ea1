"""A small stdio LSP client for Tandem's own server: `tandem complete` and the end-to-end
tests use it to go through exactly the path an editor takes."""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from lsp_server import __version__
from lsp_server.methods import STATUS_METHOD


@dataclass
class TandemClient:
    """Spawns `python -m lsp_server serve` and speaks LSP to it."""
    server_args: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # window/showMessage texts, in order
    progress: list[str] = field(default_factory=list)  # $/progress kinds: begin, report, end
    echo_stderr: bool = False  # copy the server's stderr to ours
    stderr_tail: deque = field(default_factory=lambda: deque(maxlen=200))
    client: LanguageClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = LanguageClient("tandem-client", __version__)

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def on_progress_create(params) -> None:
            return None

        @self.client.feature(types.PROGRESS)
        def on_progress(params) -> None:
            self.progress.append(getattr(params.value, "kind", None) or params.value.get("kind"))

    async def start(self, settings: dict | None = None, root: Path | None = None) -> None:
        """Spawn the server over stdio and initialize it."""
        await self.client.start_io(sys.executable, "-m", "lsp_server", "serve", *self.server_args)
        # pygls pipes the server's stderr and never reads it: drain it, or logs could block it.
        self._drain = asyncio.create_task(self._drain_stderr(self.client._server.stderr))
        await self._initialize(settings, root)

    async def connect(self, host: str, port: int, settings: dict | None = None) -> None:
        """Attach to a server already listening on TCP, as a dev-container editor does."""
        await self.client.start_tcp(host, port)
        await self._initialize(settings, None)

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip("\n")
            self.stderr_tail.append(text)
            if self.echo_stderr:
                print(text, file=sys.stderr)

    async def _initialize(self, settings: dict | None, root: Path | None) -> None:
        capabilities = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True),
            general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
        )
        await self.client.initialize_async(types.InitializeParams(
            capabilities=capabilities, initialization_options={"tandem": settings or {}},
            root_uri=root.resolve().as_uri() if root else None, process_id=None,
        ))
        self.client.initialized(types.InitializedParams())

    def open(self, uri: str, text: str, version: int = 1, language_id: str = "python") -> None:
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language_id, version=version, text=text)))

    def change(self, uri: str, text: str, version: int) -> None:
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)]))

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))

    def configure(self, settings: dict) -> None:
        self.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"tandem": settings}))

    async def inline_completion(self, uri: str, line: int, character: int) -> list[types.InlineCompletionItem]:
        result = await self.client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
        if result is None:
            return []
        return list(result.items if isinstance(result, types.InlineCompletionList) else result)

    async def status(self) -> dict:
        result = await self.client.protocol.send_request_async(STATUS_METHOD, {})
        return to_plain(result)

    async def stop(self) -> None:
        try:
            await self.client.shutdown_async(None)
            self.client.exit(None)
        finally:
            await self.client.stop()


def to_plain(value):
    """pygls hands custom results back as namedtuple-like objects; turn them into dicts."""
    if hasattr(value, "_asdict"):
        return {k: to_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value
