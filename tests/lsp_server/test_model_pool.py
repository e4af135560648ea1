"""The host's pairs: shared between connections with equal model settings, a pair of its
own for a connection that asks for other models (within the limit and the free memory),
never a swap under another connection."""

from __future__ import annotations

import asyncio

import pytest

from lsp_server import model_host
from lsp_server.model_host import FAILED, READY, LoadOutcome, ModelHost
from models.config import PairSpec

A, B, C = PairSpec(target="/models/a"), PairSpec(target="/models/b"), PairSpec(target="/models/c")


class FakePair:
    def __init__(self, spec: PairSpec):
        self.spec = spec

    def describe(self) -> dict:
        return {"target": {"path": self.spec.target}}


@pytest.fixture
def loads(monkeypatch):
    """The specs loaded, in order; a target named 'broken' fails to load."""
    loaded: list[PairSpec] = []

    def fake_load(spec: PairSpec) -> LoadOutcome:
        loaded.append(spec)
        if "broken" in spec.target:
            return LoadOutcome(FAILED, f"{spec.target} is not a checkpoint")
        return LoadOutcome(READY, pair=FakePair(spec))

    monkeypatch.setattr(model_host, "load_pair", fake_load)
    monkeypatch.setattr(model_host, "_memory_for", lambda spec: (1, 2))
    return loaded


def run(scenario):
    async def wrapped():
        host = ModelHost(max_pairs=2)
        try:
            return await scenario(host)
        finally:
            host.shutdown()
    return asyncio.run(wrapped())


def target_of(lease) -> str | None:
    models = lease.describe()["models"]
    return models["target"]["path"] if models else None


def test_connections_with_equal_model_settings_share_one_pair(loads):
    async def scenario(host):
        first, second = host.lease(), host.lease()
        await first.load(A)
        await second.load(A)
        return first.describe(), second.describe()

    first, second = run(scenario)
    assert loads == [A] and first["sharedWith"] == second["sharedWith"] == 1


def test_other_models_load_beside_never_in_place_of_another_connections(loads):
    async def scenario(host):
        first, second = host.lease(), host.lease()
        await first.load(A)
        await second.load(B)
        return target_of(first), target_of(second)

    assert run(scenario) == ("/models/a", "/models/b") and loads == [A, B]


def test_past_the_limit_a_connection_is_refused_and_keeps_what_it_had(loads):
    async def scenario(host):
        first, second, third = host.lease(), host.lease(), host.lease()
        await first.load(A)
        await second.load(B)
        await third.load(A)
        outcome = await third.load(C)  # A and B are both in use by others: no room for C
        return outcome, third.describe(), first.describe()

    outcome, third, first = run(scenario)
    assert outcome.state == FAILED and "already holds 2 model pair(s) for other editors" in outcome.message
    assert third["state"] == READY and "still using the previously loaded models" in third["error"]
    assert third["models"]["target"]["path"] == "/models/a"
    assert first["state"] == READY and first["error"] is None and C not in loads


def test_a_new_connection_past_the_limit_gets_a_clear_error(loads):
    async def scenario(host):
        first, second, third = host.lease(), host.lease(), host.lease()
        await first.load(A)
        await second.load(B)
        await third.load(C)
        return third.describe()

    third = run(scenario)
    assert third["state"] == FAILED and "Use the same draftModel/targetModel" in third["error"]
    assert third["models"] is None


def test_models_of_a_disconnected_editor_stay_warm_until_room_is_needed(loads):
    async def scenario(host):
        first, second = host.lease(), host.lease()
        await first.load(A)
        first.release()  # the editor disconnected
        again = host.lease()
        await again.load(A)  # it reconnects: no second load
        await second.load(B)
        again.release()
        third = host.lease()
        await third.load(C)  # A is idle: freed to make room
        return third.describe(), host.loaded_pairs

    third, loaded = run(scenario)
    assert loads == [A, B, C] and third["state"] == READY and loaded == 2


def test_a_failed_load_is_only_the_asking_connections_error(loads):
    async def scenario(host):
        first, second = host.lease(), host.lease()
        await first.load(A)
        await second.load(A)
        await second.load(PairSpec(target="/models/broken"))
        return first.describe(), second.describe()

    first, second = run(scenario)
    assert first["error"] is None and first["state"] == READY
    assert "is not a checkpoint" in second["error"] and second["models"]["target"]["path"] == "/models/a"


def test_an_additional_pair_that_does_not_fit_in_free_memory_is_refused(loads, monkeypatch):
    monkeypatch.setattr(model_host, "_memory_for", lambda spec: (30 * 2**30, 4 * 2**30))

    async def scenario(host):
        first, second = host.lease(), host.lease()
        await first.load(A)
        return await second.load(B)

    outcome = run(scenario)
    assert outcome.state == FAILED and "needs about 30.0 GiB" in outcome.message and loads == [A]


class SlowService:
    """Records each request; the first one blocks the worker until `release` is set."""

    def __init__(self):
        self.release, self.ran = __import__("threading").Event(), []

    def complete(self, request, is_cancelled):
        if not self.ran:
            self.ran.append(request)
            self.release.wait(30)
            return None
        self.ran.append(request)


def test_warm_ups_never_pile_up_and_never_run_ahead_of_a_completion():
    import threading
    import time

    host, service = ModelHost(), SlowService()
    try:
        host.prefill_in_background(service, "first", threading.Event())
        time.sleep(0.1)  # the worker is now busy with the first
        flags = [threading.Event() for _ in range(500)]
        for i, flag in enumerate(flags):  # 500 files opened while it runs
            host.prefill_in_background(service, f"open {i}", flag)
        service.release.set()
        deadline = time.monotonic() + 30
        while host.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert service.ran == ["first", "open 499"]  # only the newest waited, the rest were superseded
        assert all(flag.is_set() for flag in flags[:-1])

        service.ran.clear()
        service.release.clear()
        host.prefill_in_background(service, "blocker", threading.Event())
        time.sleep(0.1)
        host._pending += 1  # a completion is queued behind the blocker
        host.prefill_in_background(service, "late warm-up", threading.Event())
        service.release.set()
        time.sleep(0.3)
        assert service.ran == ["blocker"]  # the warm-up gave way to the real request
    finally:
        host.shutdown()
