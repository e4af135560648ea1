"""The model host's load outcome: whatever goes wrong while loading ends the "loading"
state with a reason (a server stuck loading would leave every request waiting)."""

from __future__ import annotations

import asyncio

from lsp_server.model_host import FAILED, READY, ModelHost, load_pair
from models.config import PairSpec
from models.pair import ModelPair


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
