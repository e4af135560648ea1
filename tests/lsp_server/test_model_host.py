"""The model host's load outcome: whatever goes wrong while loading ends the "loading"
state with a reason (a server stuck loading would leave every request waiting)."""

from __future__ import annotations

import asyncio

from lsp_server.model_host import FAILED, READY, ModelHost, load_pair
from models.config import PairSpec
from models.pair import ModelPair
from tests.models.test_loading_preflight import seven_b_pair, weights_read  # noqa: F401 (fixtures)


def test_an_unexpected_error_while_loading_is_a_failed_load_with_the_reason(monkeypatch):
    def broken(spec):
        raise RuntimeError("safetensors: header too large")

    monkeypatch.setattr(ModelPair, "load", staticmethod(broken))
    outcome = load_pair(PairSpec(device="cpu"))
    assert outcome.state == FAILED and outcome.pair is None
    assert outcome.message == "loading the models failed: RuntimeError: safetensors: header too large"


def test_the_host_leaves_loading_and_answers_requests_with_nothing(monkeypatch):
    def broken(spec):
        raise AssertionError("a bug in an engine")

    monkeypatch.setattr(ModelPair, "load", staticmethod(broken))

    async def scenario():
        host = ModelHost()
        models = host.lease()
        try:
            outcome = await asyncio.wait_for(models.load(PairSpec(device="cpu")), timeout=60)
            return outcome, models.describe(), await asyncio.wait_for(models.complete(None, None), timeout=5)
        finally:
            host.shutdown()

    outcome, described, answer = asyncio.run(scenario())
    assert outcome.state == FAILED and described["state"] == "error" and not described["busy"]
    assert "AssertionError: a bug in an engine" in described["error"]
    assert answer is None


def test_a_real_load_is_ready_and_idle_afterwards():
    async def scenario():
        host = ModelHost()
        models = host.lease()
        try:
            await models.load(PairSpec(device="cpu", dtype="float32"))
            return models.describe()
        finally:
            host.shutdown()

    described = asyncio.run(scenario())
    assert described["state"] == READY and described["busy"] is False and described["models"]["device"] == "cpu"


def test_the_first_pair_that_does_not_fit_is_refused_before_its_weights_are_read(monkeypatch, seven_b_pair,  # noqa: F811
                                                                                 weights_read):
    """No other pair is loaded, so the host has nothing to make room from: the check is
    loading's own (models.preflight), and the server stays up saying what to do."""
    from models import preflight

    monkeypatch.setattr(preflight, "free_memory", lambda device: (20 * 2**30, "test"))
    draft, target = seven_b_pair

    async def scenario():
        host = ModelHost()
        models = host.lease()
        try:
            return await asyncio.wait_for(models.load(PairSpec(str(draft), str(target), "cpu", "float32", "transformers")), 120)
        finally:
            host.shutdown()

    outcome = asyncio.run(scenario())
    assert outcome.state == FAILED and outcome.message.startswith("the models would not fit, so they are not loaded")
    assert "set dtype bfloat16 (needs about 14.5 GiB, which fits)" in outcome.message and weights_read == []


def test_a_request_cancelled_while_it_waits_for_the_worker_costs_nothing():
    # Fast typing queues a request per keystroke, each superseding the one before; each
    # used to pay its prompt's prefill on the worker anyway, and answers fell behind.
    import threading

    class Service:
        def __init__(self) -> None:
            self.ran, self.release = [], threading.Event()

        def complete(self, request, is_cancelled):
            self.ran.append(request)
            self.release.wait(10)
            return request

    async def scenario():
        host, service = ModelHost(), Service()
        try:
            first = asyncio.ensure_future(host.run(service, "first", threading.Event()))
            await asyncio.sleep(0.1)  # the worker is busy with the first
            superseded, newest = threading.Event(), threading.Event()
            second = asyncio.ensure_future(host.run(service, "second", superseded))
            third = asyncio.ensure_future(host.run(service, "third", newest))
            superseded.set()
            service.release.set()
            return await asyncio.gather(first, second, third), service.ran
        finally:
            host.shutdown()

    answers, ran = asyncio.run(scenario())
    assert answers == ["first", None, "third"] and ran == ["first", "third"]


def test_a_queued_request_whose_caller_stopped_waiting_holds_no_snapshot():
    """The request (its document's text and tree) is freed when its caller gives up, not
    when the worker's queue reaches it."""
    import gc
    import threading
    import weakref

    class Request:
        pass

    class Service:
        def __init__(self) -> None:
            self.release = threading.Event()

        def complete(self, request, is_cancelled):
            self.release.wait(10)
            return "done"

    async def scenario():
        host, service = ModelHost(), Service()
        try:
            busy = asyncio.ensure_future(host.run(service, Request(), threading.Event()))
            await asyncio.sleep(0.1)  # the worker is busy
            queued, cancelled = Request(), threading.Event()
            alive = weakref.ref(queued)
            waiting = asyncio.ensure_future(host.run(service, queued, cancelled))
            del queued
            await asyncio.sleep(0.05)
            cancelled.set()
            waiting.cancel()
            await asyncio.wait({waiting})
            del waiting
            gc.collect()
            held_while_queued = alive() is not None
            service.release.set()
            return held_while_queued, await busy
        finally:
            host.shutdown()

    held, answer = asyncio.run(scenario())
    assert not held and answer == "done"
