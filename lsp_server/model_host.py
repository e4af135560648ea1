"""The one worker that owns the models: loading, reloading and running completions off the
event loop, so the server keeps answering while a model loads or generates."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from completion.service import CompletionRequest, CompletionResult, CompletionService
from models.errors import DeviceError, ModelError
from models.pair import DecodingConfig, ModelPair, PairSpec

log = logging.getLogger(__name__)

LOADING, READY, FAILED = "loading", "ready", "error"


@dataclass
class LoadOutcome:
    state: str
    message: str | None = None   # for the user: why it failed, or what was substituted
    pair: ModelPair | None = None


def load_pair(spec: PairSpec, decoding: DecodingConfig = DecodingConfig()) -> LoadOutcome:
    """Load (and warm up) a pair; an unusable device falls back to `auto` with a warning
    rather than leaving the user without completions."""
    try:
        pair = ModelPair.load(spec, decoding)
        pair.warm_up()
        return LoadOutcome(READY, "; ".join(pair.warnings) or None, pair=pair)
    except DeviceError as error:
        if spec.device == "auto":
            return LoadOutcome(FAILED, str(error))
        fallback = PairSpec(spec.draft, spec.target, "auto", spec.dtype, spec.engine)
        outcome = load_pair(fallback, decoding)
        if outcome.state == READY:
            outcome.message = f"{error}. Using {outcome.pair.target.placement.device} instead."
        return outcome
    except ModelError as error:
        return LoadOutcome(FAILED, str(error))
    except Exception as error:  # anything else must still end "loading", or the server waits forever
        log.exception("loading the models failed")
        return LoadOutcome(FAILED, f"loading the models failed: {type(error).__name__}: {error}")


class ModelHost:
    def __init__(self) -> None:
        # One thread: torch work is serialised, and models are never used by two requests at once.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tandem-model")
        self.state, self.error, self.spec = LOADING, None, None
        self._service: CompletionService | None = None
        self._pair: ModelPair | None = None
        self._loaded = asyncio.Event()
        self.decoding = DecodingConfig()
        self._pending = 0  # completions queued or running on the worker
        self._warming = None  # the newest background prefill's future

    def configure(self, decoding: DecodingConfig) -> None:
        """New decoding settings apply from the next request on; no reload needed."""
        self.decoding = decoding
        if self._pair is not None:
            self._pair.decoding = decoding

    async def load(self, spec: PairSpec) -> LoadOutcome:
        if spec == self.spec and self.state == READY:  # already loaded (a reconnecting editor)
            return LoadOutcome(READY, pair=self._pair)
        self.spec, self.state, self.error = spec, LOADING, None
        self._loaded.clear()
        outcome = await asyncio.get_running_loop().run_in_executor(self._worker, load_pair, spec, self.decoding)
        if spec != self.spec:  # a newer load was asked for meanwhile; it decides the state
            return outcome
        self.state, self.error = outcome.state, outcome.message if outcome.state == FAILED else None
        if outcome.pair is not None:
            self._pair, self._service = outcome.pair, CompletionService(outcome.pair)
        elif self._pair is not None:  # a failed reload keeps the models that worked
            self.state = READY
            outcome.message = self.error = f"{outcome.message}; still using the previously loaded models"
        self._loaded.set()
        log.info("models %s%s", self.state, f": {outcome.message}" if outcome.message else "")
        return outcome

    async def complete(self, request: CompletionRequest, cancelled: threading.Event) -> CompletionResult | None:
        """Run one completion on the worker; None when no model is usable."""
        await self._loaded.wait()
        if self._service is None:
            return None
        service = self._service
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._worker, service.complete, request, cancelled.is_set)
        finally:
            self._pending -= 1

    def prefill_in_background(self, request: CompletionRequest, cancelled: threading.Event) -> None:
        """When the worker is idle, run `request` for one token: both models' caches then
        hold its prompt, and the first real completion nearby prefills only the difference."""
        if self._service is None or self._pending or self.state != READY:
            return
        service = self._service

        def warm() -> None:
            try:
                service.complete(request, cancelled.is_set)
            except Exception:  # a warm-up is an optimisation: never an error for the user
                log.debug("background prefill failed", exc_info=True)

        self._warming = self._worker.submit(warm)

    def describe(self) -> dict:
        return {"state": self.state, "error": self.error, "busy": self.busy,
                "models": self._pair.describe() if self._pair else None}

    @property
    def busy(self) -> bool:
        """Whether the worker has a completion or a background prefill to finish."""
        return bool(self._pending) or (self._warming is not None and not self._warming.done())

    def shutdown(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
