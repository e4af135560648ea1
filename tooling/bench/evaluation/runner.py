"""Run every task under every configuration: through the real server over stdio (what an
editor does: didOpen, textDocument/inlineCompletion, didClose), or `direct`, calling the
completion service in this process without LSP.

Configurations are interleaved: step i runs configuration j on task i + j·stride, so
load that drifts during a long run hits every configuration alike (their speeds are
compared side by side), and no request follows one for the same task (the server reuses
the previous prompt's KV, which would flatter whichever configuration came second).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from dataclasses import dataclass

from lsp_server.client import TandemClient
from bench.evaluation.configs import EvalConfig
from bench.evaluation.tasks import EvalTask
from lsp_server.positions import offset_at, position_of
from models.records import DecodeStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    config: str
    task: EvalTask
    text: str = ""            # the suggestion as the editor would insert it
    replace_chars: int = 0    # code points right of the cursor it replaces
    latency_ms: float = 0.0   # request → answer, as the client sees it
    generate_ms: float = 0.0  # the server's generate stage (prefill + decode)
    mode: str = ""            # the server's decision: single-line, multi-line, or none (declined)
    decode: DecodeStats = DecodeStats()  # the request's one record (all 0 when no model ran)
    error: str = ""           # a failed request: scored, never fatal
    reason: str = ""          # why that mode (why the server declined)
    guarded: bool = False     # the server's validity checks cut the text, or dropped all of it

    @property
    def declined(self) -> bool:
        """The server decided not to complete here (it did not fail, and the models did not run)."""
        return self.mode == "none"


LOAD_TIMEOUT_S = 3600.0  # a 7B target from a slow disk onto a CPU takes minutes, not an hour


def _uri(config: str, task: EvalTask) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", task.problem.task_id.removesuffix(".py"))  # HumanEval/0 → HumanEval-0
    return f"file:///tandem-eval/{config}/{task.task_set}/{name}.py"


def schedule(tasks: list[EvalTask], configs: list[EvalConfig]) -> list[tuple[EvalConfig, EvalTask]]:
    """Every (configuration, task) once, interleaved as the module says. Neighbouring
    requests are kept on different problems where the task list allows it: the same
    problem twice in a row would find its prompt already in the KV caches."""
    count = len(tasks)
    if not count or not configs:
        return []

    def plan(stride: int) -> list[tuple[EvalConfig, EvalTask]]:
        return [(config, tasks[(step + index * stride) % count])
                for step in range(count) for index, config in enumerate(configs)]

    def repeats(steps: list[tuple[EvalConfig, EvalTask]]) -> int:
        return sum(a.problem.task_id == b.problem.task_id for (_, a), (_, b) in zip(steps, steps[1:]))

    best, fewest = [], None
    first = max(1, count // len(configs))
    for stride in [*range(first, count), *range(1, first)] or [1]:
        candidate = plan(stride)
        found = repeats(candidate)
        if fewest is None or found < fewest:
            best, fewest = candidate, found
        if not fewest:
            break
    return best


def _progress(done: int, total: int, started: float) -> None:
    if done == total or done % 100 == 0:
        print(f"  {done:>5}/{total} requests  {time.perf_counter() - started:6.1f} s", file=sys.stderr)


async def run_over_lsp(tasks: list[EvalTask], configs: list[EvalConfig], server_args: list[str],
                       shared_settings: dict) -> tuple[list[Attempt], dict]:
    """All attempts, and the server's `tandem/status` (models, device, dtype) at the end."""
    client = TandemClient(server_args)
    await client.start({**shared_settings, **configs[0].settings})
    attempts = []
    try:
        status = await _loaded(client)
        if status["state"] != "ready":
            raise RuntimeError(f"the server could not load the models: {status.get('error')}")
        plan, current, started = schedule(tasks, configs), None, time.perf_counter()
        for done, (config, task) in enumerate(plan, 1):
            if config is not current:
                client.configure({**shared_settings, **config.settings})
                current = config
            attempts.append(await _attempt_over_lsp(client, config.name, task))
            _progress(done, len(plan), started)
    finally:
        await client.stop()
    return attempts, status


async def _loaded(client: TandemClient, poll_seconds: float = 0.2, timeout_s: float = LOAD_TIMEOUT_S) -> dict:
    """The server's status once its models are loaded (or failed to load)."""
    deadline = time.monotonic() + timeout_s
    while (status := await client.status())["state"] == "loading":
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server was still loading the models after {timeout_s / 60:.0f} minutes")
        await asyncio.sleep(poll_seconds)
    return status


async def _idle(client: TandemClient, poll_seconds: float = 0.005, timeout_s: float = 300.0) -> None:
    """Wait out the prefill the server starts on didOpen: the request is then timed as in an
    editor where the file was opened a moment before typing, the same for every configuration.
    A prefill that outlasts `timeout_s` is waited on no longer (the request then pays for it)."""
    deadline = time.monotonic() + timeout_s
    while (await client.status()).get("busy") and time.monotonic() < deadline:
        await asyncio.sleep(poll_seconds)


async def _attempt_over_lsp(client: TandemClient, config: str, task: EvalTask) -> Attempt:
    uri, document, cursor = _uri(config, task), task.document, len(task.prefix)
    before = (await client.status())["stats"]["requests"]
    client.open(uri, document)
    await _idle(client)
    started = time.perf_counter()
    try:
        items = await client.inline_completion(uri, *position_of(document, cursor))
    except Exception as error:  # an LSP error for one request is a failed attempt
        return Attempt(config, task, error=f"{type(error).__name__}: {error}")
    finally:
        client.close(uri)
    latency_ms = (time.perf_counter() - started) * 1000
    stats = (await client.status())["stats"]
    last = stats["last"] if stats["requests"] == before + 1 and stats["last"] else {}
    text, replace_chars = "", 0
    if items:
        item, end = items[0], items[0].range.end if items[0].range else None
        text = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
        replace_chars = offset_at(document, end.line, end.character) - cursor if end else 0
    return Attempt(config, task, text, replace_chars, latency_ms, last.get("stageMs", {}).get("generate", 0.0),
                   last.get("mode", ""), DecodeStats.from_summary(last), reason=last.get("reason", ""),
                   guarded=bool(last.get("guarded")))


def run_direct(tasks: list[EvalTask], configs: list[EvalConfig], spec, shared_settings: dict) -> tuple[list[Attempt], dict]:
    """The same attempts through the completion service in this process, without LSP."""
    from completion.service import CompletionService
    from lsp_server.model_host import READY, load_pair

    outcome = load_pair(spec)
    if outcome.state != READY:
        raise RuntimeError(f"the models are not usable: {outcome.message}")
    pair = outcome.pair
    attempts = run_service(CompletionService(pair), tasks, configs, shared_settings)
    return attempts, {"state": READY, "models": pair.describe()}


def run_service(service, tasks: list[EvalTask], configs: list[EvalConfig],
                shared_settings: dict) -> list[Attempt]:
    """Every task under every configuration through `service` (a CompletionService); each
    request carries its configuration's decoding."""
    from completion.service import CompletionRequest
    from lsp_server.settings import parse_settings

    parsed = {}
    for config in configs:
        settings, problems = parse_settings({**shared_settings, **config.settings})
        if problems:
            raise ValueError("; ".join(problems))
        parsed[config.name] = settings
    attempts, plan, started = [], schedule(tasks, configs), time.perf_counter()
    for done, (config, task) in enumerate(plan, 1):
        settings = parsed[config.name]
        request = CompletionRequest(task.document, len(task.prefix), settings.completion_options(),
                                    _uri(config.name, task))
        attempts.append(_attempt_direct(service, config.name, task, request))
        _progress(done, len(plan), started)
    return attempts


def _attempt_direct(service, config: str, task: EvalTask, request) -> Attempt:
    started = time.perf_counter()
    try:
        result = service.complete(request)
    except Exception as error:  # a failing generation is scored, not fatal
        log.exception("%s failed under %s", task.name, config)
        return Attempt(config, task, error=f"{type(error).__name__}: {error}")
    latency_ms = (time.perf_counter() - started) * 1000
    return Attempt(config, task, result.text, result.replace_chars, latency_ms, result.stage_ms.get("generate", 0.0),
                   str(result.mode), result.decode, reason=result.reason, guarded=result.guarded)
