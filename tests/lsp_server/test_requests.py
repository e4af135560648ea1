"""The request policy without pygls: newest wins, stale answers dropped, type-through,
warnings once, statistics from the one per-request record."""

from __future__ import annotations

import asyncio

from completion.decide import Mode
from completion.service import CompletionRequest, CompletionResult
from lsp_server.requests import RequestPolicy
from models.records import DecodeStats, StopReason


class FakeModels:
    """Answers each request with `text`, after waiting for `release` when one is given."""

    def __init__(self, text: str = "value", warnings: tuple[str, ...] = ()):
        self.text, self.warnings = text, warnings
        self.release: asyncio.Event | None = None
        self.calls = 0

    async def complete(self, request, cancelled):
        self.calls += 1
        if self.release is not None:
            await self.release.wait()
        if cancelled.is_set():
            return CompletionResult("", Mode.SINGLE_LINE, "test", DecodeStats(stop_reason=StopReason.CANCELLED))
        stats = DecodeStats(prompt_tokens=10, new_tokens=3, drafted=4, accepted=2, target_passes=2,
                            decode_seconds=0.01, stop_reason=StopReason.EOS)
        return CompletionResult(self.text, Mode.SINGLE_LINE, "test", stats, warnings=self.warnings)

    def prefill_in_background(self, request, cancelled):
        pass


def policy(models: FakeModels, versions: dict[str, int]) -> tuple[RequestPolicy, list[str]]:
    told: list[str] = []
    return RequestPolicy(models, versions.get, told.append), told


def request(text: str = "x = ", uri: str = "file:///a.py") -> CompletionRequest:
    return CompletionRequest(text, len(text), uri=uri)


def test_an_answer_is_recorded_once_in_the_statistics():
    models, versions = FakeModels(), {"file:///a.py": 1}
    requests, _ = policy(models, versions)
    suggestion = asyncio.run(requests.suggest(request()))
    assert suggestion.text == "value"
    stats = requests.stats.as_dict()
    assert stats["requests"] == 1 and stats["answered"] == 1 and stats["acceptanceRate"] == 0.5
    assert stats["last"]["newTokens"] == 3 and stats["last"]["stopReason"] == "eos"


def test_the_newest_request_for_a_document_wins():
    async def scenario():
        models, versions = FakeModels(), {"file:///a.py": 1}
        models.release = asyncio.Event()
        requests, _ = policy(models, versions)
        older = asyncio.create_task(requests.suggest(request("x = ")))
        await asyncio.sleep(0)
        newer = asyncio.create_task(requests.suggest(request("x = 1")))
        await asyncio.sleep(0)
        models.release.set()
        return await older, await newer, requests.stats

    older, newer, stats = asyncio.run(scenario())
    assert older is None and newer.text == "value" and stats.cancelled == 1


def test_an_answer_for_an_old_version_is_dropped():
    async def scenario():
        models, versions = FakeModels(), {"file:///a.py": 1}
        models.release = asyncio.Event()
        requests, _ = policy(models, versions)
        pending = asyncio.create_task(requests.suggest(request()))
        await asyncio.sleep(0)
        versions["file:///a.py"] = 2  # the user typed on while the model ran
        models.release.set()
        return await pending, requests.stats

    answer, stats = asyncio.run(scenario())
    assert answer is None and stats.stale == 1


def test_typing_through_a_suggestion_is_answered_without_the_models():
    models, versions = FakeModels(text="value + 1"), {"file:///a.py": 1}
    requests, _ = policy(models, versions)
    asyncio.run(requests.suggest(request("x = ")))
    typed = asyncio.run(requests.suggest(request("x = va")))
    assert typed.text == "lue + 1" and models.calls == 1 and requests.stats.type_through == 1


def test_a_warning_is_shown_once():
    models, versions = FakeModels(warnings=("promptFormat starcoder needs its tokens",)), {"file:///a.py": 1}
    requests, told = policy(models, versions)
    for text in ("x = ", "y = "):
        asyncio.run(requests.suggest(request(text)))
    assert told == ["promptFormat starcoder needs its tokens"]


def test_a_debounced_request_superseded_while_waiting_never_reaches_the_models():
    async def scenario():
        models, versions = FakeModels(), {"file:///a.py": 1}
        requests, _ = policy(models, versions)
        first = asyncio.create_task(requests.suggest(request("x = "), debounce_ms=200))
        await asyncio.sleep(0.01)
        second = await requests.suggest(request("x = 1"), debounce_ms=0)
        return await first, second, models.calls

    first, second, calls = asyncio.run(scenario())
    assert first is None and second.text == "value" and calls == 1


def test_the_log_line_keeps_one_token_per_field_whatever_the_text():
    import shlex

    from lsp_server.requests import _fields

    summary = {"reason": 'inside "a string", after =', "mode": "single-line", "snippets": ["a", "b"],
               "stageMs": {"parse": 0.5, "generate": 12.0}, "newTokens": 3}
    parsed = dict(token.split("=", 1) for token in shlex.split(_fields(summary)))
    assert parsed == {"reason": 'inside "a string", after =', "mode": "single-line", "snippets": "2",
                      "stageMs.parse": "0.5", "stageMs.generate": "12.0", "newTokens": "3"}


def test_a_superseded_request_is_answered_at_once_while_the_models_are_busy():
    """Its client need not wait for the worker to reach it, and its document snapshot is
    not held meanwhile (a backlog of them grew the soak benchmark's server by 300 MB)."""
    async def scenario():
        models, versions = FakeModels(), {"file:///a.py": 1}
        models.release = asyncio.Event()  # the models never answer during this test
        requests, _ = policy(models, versions)
        older = asyncio.create_task(requests.suggest(request("x = ")))
        await asyncio.sleep(0.01)
        newer = asyncio.create_task(requests.suggest(request("x = 1")))
        answer = await asyncio.wait_for(older, timeout=5)
        waiting = len(requests._waiting)
        models.release.set()
        return answer, waiting, await newer, requests.stats

    older, waiting, newer, stats = asyncio.run(scenario())
    assert older is None and waiting == 1 and newer.text == "value" and stats.cancelled == 1
