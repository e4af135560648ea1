"""The one worker that owns the models, and each connection's lease on them.

`ModelHost` runs every torch call on one thread, so the server keeps answering while a
model loads or generates, and no two requests ever use a model at once. It holds the
loaded pairs by `PairSpec`: connections whose model settings are equal share one pair
(weights, KV prefix caches, acceptance statistics); a connection that asks for other
models gets a pair of its own, within `max_pairs` and the memory that is free, or a clear
refusal. Never a swap under another editor.

`ModelLease` is one connection's view: its own spec, state and error. Decoding settings
are not here at all: each request carries its own (`CompletionOptions.decoding`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from completion.service import CompletionRequest, CompletionResult, CompletionService
from models.config import PairSpec
from models.errors import DeviceError, ModelError
from models.embedded import resolve_model_dirs
from models.preflight import check_memory, gib
from models.pair import ModelPair
from models.remote.engine import RemotePair
from models.plan import plan_load

log = logging.getLogger(__name__)

LOADING, READY, FAILED = "loading", "ready", "error"
MAX_PAIRS = 2  # distinct model pairs one server holds at once (each editor may ask for its own)


@dataclass
class LoadOutcome:
    state: str
    message: str | None = None   # for the user: why it failed, or what was substituted
    pair: ModelPair | RemotePair | None = None


def load_pair(spec: PairSpec) -> LoadOutcome:
    """Load (and warm up) a pair; an unusable device falls back to `auto` with a warning
    rather than leaving the user without completions."""
    try:
        pair = RemotePair.load(spec) if spec.remote_url else ModelPair.load(spec)
        pair.warm_up()
        return LoadOutcome(READY, "; ".join(pair.warnings) or None, pair=pair)
    except DeviceError as error:
        if spec.device == "auto":
            return LoadOutcome(FAILED, str(error))
        outcome = load_pair(replace(spec, device="auto"))
        if outcome.state == READY:
            outcome.message = f"{error}. Using {outcome.pair.target.placement.device} instead."
        return outcome
    except ModelError as error:
        return LoadOutcome(FAILED, str(error))
    except Exception as error:  # anything else must still end "loading", or the server waits forever
        log.exception("loading the models failed")
        return LoadOutcome(FAILED, f"loading the models failed: {type(error).__name__}: {error}")


@dataclass
class _Slot:
    """One pair being loaded or loaded, and the leases using it."""
    spec: PairSpec
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: LoadOutcome | None = None
    service: CompletionService | None = None
    users: set = field(default_factory=set)  # ids of the leases holding it


class _QueuedCompletion:
    """One completion waiting for the worker. Fast typing queues a request per keystroke,
    each superseding the last: one cancelled while it waited must cost nothing, or every
    keystroke pays a prefill and answers fall further behind the typing (the soak benchmark
    measured 48 s). Nor may it hold memory: a request holds its document's text and tree
    snapshot (and the other open documents'), so a caller that stops waiting drops them at
    once instead of when the queue reaches this job (the soak grew by 300 MB of snapshots
    of superseded requests)."""

    def __init__(self, service: CompletionService, request: CompletionRequest, cancelled: threading.Event):
        self.service: CompletionService | None = service
        self.request: CompletionRequest | None = request
        self.cancelled = cancelled

    def run(self) -> CompletionResult | None:
        """On the worker."""
        service, request = self.service, self.request  # read once: drop() may run meanwhile
        if service is None or request is None or self.cancelled.is_set():
            return None
        return service.complete(request, self.cancelled.is_set)

    def drop(self) -> None:
        """On the event loop, once no one waits for the answer."""
        self.service = self.request = None


class ModelHost:
    def __init__(self, max_pairs: int = MAX_PAIRS) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tandem-model")
        self.max_pairs = max_pairs
        self._slots: dict[PairSpec, _Slot] = {}
        self._pending = 0  # completions queued or running on the worker
        self._warming: Future | None = None  # the newest background prefill's job
        self._warm_lock = threading.Lock()  # the event loop asks for warm-ups, the worker takes them
        self._warm: tuple[CompletionService, CompletionRequest, threading.Event] | None = None
        self._warm_queued = False

    def lease(self) -> "ModelLease":
        return ModelLease(self)

    # -- pairs ---------------------------------------------------------------------------
    async def acquire(self, spec: PairSpec, user: int) -> _Slot:
        """The slot for `spec`, loading it if needed; shared when another lease holds it."""
        slot = self._slots.get(spec)
        if slot is None:
            refusal = self._make_room(spec, user)
            slot = _Slot(spec)
            if refusal is not None:
                slot.outcome = LoadOutcome(FAILED, refusal)
                slot.loaded.set()
                slot.users.add(user)
                return slot  # not kept: nothing was loaded
            self._slots[spec] = slot
            slot.users.add(user)
            outcome = await asyncio.get_running_loop().run_in_executor(self._worker, load_pair, spec)
            slot.outcome = outcome
            if outcome.pair is not None:
                slot.service = CompletionService(outcome.pair)
            else:
                self._slots.pop(spec, None)  # a failed load holds nothing; a later try loads again
            slot.loaded.set()
            log.info("models %s for %s%s", outcome.state, _label(spec), f": {outcome.message}" if outcome.message else "")
            return slot
        slot.users.add(user)
        await slot.loaded.wait()
        return slot

    def release(self, slot: _Slot | None, user: int, keep_idle: bool) -> None:
        """`user` stops using `slot`. Unused pairs are freed, unless `keep_idle` (an editor
        that disconnected may come back: its models stay warm until room is needed)."""
        if slot is None:
            return
        slot.users.discard(user)
        if not slot.users and not keep_idle and self._slots.get(slot.spec) is slot:
            self._drop(slot)

    def _make_room(self, spec: PairSpec, user: int) -> str | None:
        """Free idle pairs if the limit needs it; a refusal message when it cannot be done."""
        others = [s for s in self._slots.values() if s.users - {user}]
        idle = [s for s in self._slots.values() if not s.users - {user}]
        while idle and len(self._slots) >= self.max_pairs:
            self._drop(idle.pop(0))
        if len(self._slots) >= self.max_pairs:
            return (f"this server already holds {len(others)} model pair(s) for other editors, its limit; "
                    f"{_label(spec)} was not loaded. Use the same draftModel/targetModel/device/dtype/engine "
                    "as the other editors, or start a server of your own")
        # The first pair's memory is checked by ModelPair.load itself (models.preflight, before
        # any weights are read); an additional pair here too, where the refusal can say why.
        if self._slots and not spec.remote_url:  # a remote engine's models are the server's memory
            needed, free = _memory_for(spec)
            if needed is not None and free is not None and needed > free:
                return (f"{_label(spec)} needs about {gib(needed)} (weights, KV cache and working memory) and "
                        f"{gib(free)} is free while other editors' models are loaded; not loaded. Use the "
                        "other editors' models, or a smaller dtype or model")
        return None

    def _drop(self, slot: _Slot) -> None:
        del self._slots[slot.spec]
        log.info("freed the models for %s (no editor uses them)", _label(slot.spec))

    # -- work on the worker ----------------------------------------------------------------
    async def run(self, service: CompletionService, request: CompletionRequest,
                  cancelled: threading.Event) -> CompletionResult | None:
        """`request` on the worker; None when it was cancelled before its turn came."""
        job = _QueuedCompletion(service, request, cancelled)
        del service, request  # the job holds them, until drop(); a traceback of this frame must not
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._worker, job.run)
        finally:
            self._pending -= 1
            job.drop()

    def prefill_in_background(self, service: CompletionService, request: CompletionRequest,
                              cancelled: threading.Event) -> None:
        """Run `request` for one token when the worker is free: both models' caches then hold
        its prompt, and the first real completion nearby prefills only the difference.

        Warm-up is for the document the user is in now: at most one waits, a newer one
        replaces it (500 files opened at once warm the last), and it never runs ahead of a
        completion already queued."""
        with self._warm_lock:
            if self._warm is not None:
                self._warm[2].set()  # superseded before it ran
            self._warm = (service, request, cancelled)
            if self._warm_queued:
                return
            self._warm_queued = True
        self._warming = self._worker.submit(self._run_warm_up)

    def _run_warm_up(self) -> None:
        """On the worker: the newest warm-up asked for, unless a completion waits."""
        with self._warm_lock:
            job, self._warm, self._warm_queued = self._warm, None, False
        if job is None or self._pending or job[2].is_set():
            return
        service, request, cancelled = job
        try:
            service.complete(request, cancelled.is_set)
        except Exception:  # a warm-up is an optimisation: never an error for the user
            log.debug("background prefill failed", exc_info=True)

    @property
    def busy(self) -> bool:
        """Whether the worker has a completion or a background prefill to finish."""
        return bool(self._pending) or (self._warming is not None and not self._warming.done())

    @property
    def loaded_pairs(self) -> int:
        return sum(1 for s in self._slots.values() if s.service is not None)

    def shutdown(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)


class ModelLease:
    """One connection's models: its own spec, state and error, over the shared host."""

    _ids = itertools.count(1)

    def __init__(self, host: ModelHost) -> None:
        self.host = host
        self.id = next(self._ids)
        self.state, self.error, self.spec = LOADING, None, None
        self._slot: _Slot | None = None
        self._loaded = asyncio.Event()

    async def load(self, spec: PairSpec) -> LoadOutcome:
        """Use the models for `spec`. A failed load keeps the models this connection had."""
        if self._slot is not None and self._slot.spec == spec and self.state == READY:
            return self._slot.outcome  # already ours (a reconnecting editor, an unrelated change)
        self.spec, self.state, self.error = spec, LOADING, None
        self._loaded.clear()
        slot = await self.host.acquire(spec, self.id)
        if spec != self.spec:  # a newer load was asked for meanwhile; it decides the state
            self.host.release(slot, self.id, keep_idle=False)
            return slot.outcome
        outcome = replace(slot.outcome)
        if slot.service is not None:
            if self._slot is not slot:
                self.host.release(self._slot, self.id, keep_idle=False)
            self._slot, self.state = slot, READY
        elif self._slot is not None and self._slot.service is not None:
            self.host.release(slot, self.id, keep_idle=False)
            self.state = READY
            outcome.message = f"{outcome.message}; still using the previously loaded models"
            self.error = outcome.message
        else:
            self.host.release(slot, self.id, keep_idle=False)
            self.state, self.error = FAILED, outcome.message
        self._loaded.set()
        return outcome

    @property
    def service(self) -> CompletionService | None:
        return self._slot.service if self._slot is not None else None

    async def complete(self, request: CompletionRequest, cancelled: threading.Event) -> CompletionResult | None:
        """Run one completion on the worker; None when no model is usable."""
        await self._loaded.wait()
        service = self.service
        if service is None:
            return None
        return await self.host.run(service, request, cancelled)

    def prefill_in_background(self, request: CompletionRequest, cancelled: threading.Event) -> None:
        if self.service is not None and self.state == READY:
            self.host.prefill_in_background(self.service, request, cancelled)

    def describe(self) -> dict:
        pair = self._slot.outcome.pair if self._slot is not None and self._slot.outcome else None
        return {"state": self.state, "error": self.error, "busy": self.host.busy,
                "models": pair.describe() if pair is not None else None,
                "sharedWith": len(self._slot.users) - 1 if self._slot is not None else 0}

    def release(self) -> None:
        """The connection ended: its models stay warm for a reconnect until room is needed."""
        self.host.release(self._slot, self.id, keep_idle=True)
        self._slot = None


def _memory_for(spec: PairSpec) -> tuple[int | None, int | None]:
    """(bytes the pair needs, bytes free where it would go), as loading counts them
    (models.preflight); None where unknown (a path that is not a checkpoint fails its load
    with its own message)."""
    try:
        plan = plan_load(spec)
        draft, target = resolve_model_dirs(spec.draft, spec.target)
        memory = check_memory(draft, target, str(plan.placement.device),
                              str(plan.placement.dtype).removeprefix("torch."), plan.target_engine,
                              weight_type=plan.weight_type)
        return memory.total, memory.free
    except Exception:
        return None, None


def _label(spec: PairSpec) -> str:
    if spec.remote_url:
        return f"the remote engine at {spec.remote_url} ({spec.remote_model or 'its only model'})"
    return (f"draft {spec.draft or '(embedded)'} / target {spec.target or '(embedded)'} "
            f"on {spec.device}/{spec.dtype}/{spec.engine}")
