"""`tandem bench latency`: typing replayed through the real server over stdio.

Held-out standard-library functions have their bodies deleted and typed back, character
by character at 8–12 characters a second, with a wrong character and its backspace now
and then and an occasional request elsewhere in the file (a jump), sending `didChange` and
`textDocument/inlineCompletion` after every keystroke as an editor does, without waiting
for answers. Reports keystroke→answer latency, type-through answers, stale answers (text
for a version the client has already typed past), KV reuse and the server's CPU time.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.png import write_bars
from completion.syntax import parse
from lsp_server.client import TandemClient
from training import corpus

MIN_BODY, MAX_BODY = 60, 240  # characters of a function body worth retyping
WRONG_KEY, JUMP = 0.03, 0.02  # chances per keystroke
STALE_GRACE = 0.005  # seconds


@dataclass
class Request:
    sent: float
    expected_type_through: str | None  # the rest of the shown suggestion, if the key matched it
    answered_at: float | None = None
    text: str = ""
    superseded_at: float | None = None  # when the client sent the next change

    @property
    def stale(self) -> bool:
        """Text for a version the server had been sent a newer one of STALE_GRACE before it
        answered (a change still on the wire when the answer left is nobody's fault)."""
        return bool(self.text) and self.superseded_at is not None \
            and self.answered_at - self.superseded_at > STALE_GRACE


def pick_functions(count: int, seed: int) -> list[tuple[str, int, str]]:
    """(document text with one body removed, cursor offset, the body to type)."""
    rng = random.Random(seed)
    files = [f for f in corpus.load_split(held_out=True) if 2000 < len(f.text) < 60000]
    rng.shuffle(files)
    picked = []
    for file in files:
        source = file.text.encode()
        for node in parse(source).root_node.children:
            body = node.child_by_field_name("body") if node.type == "function_definition" else None
            if body is None or not MIN_BODY <= body.end_byte - body.start_byte <= MAX_BODY:
                continue
            start = source.rfind(b"\n", 0, body.start_byte) + 1
            indent = source[start:body.start_byte].decode()
            text_body = source[body.start_byte:body.end_byte].decode()
            if not text_body.isascii():
                continue
            document = (source[:start] + indent.encode() + source[body.end_byte:]).decode()
            picked.append((document, start + len(indent), text_body))
            break
        if len(picked) == count:
            break
    return picked


def position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    return line, offset - (text.rfind("\n", 0, offset) + 1)  # ASCII: UTF-16 units = characters


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def type_function(client: TandemClient, uri: str, document: str, cursor: int, body: str,
                        rng: random.Random, requests: list[Request]) -> int:
    """Type `body` at `cursor`; returns keystrokes sent."""
    client.open(uri, document)
    text, version, keystrokes, shown = document, 1, 0, ""
    pending: list[asyncio.Task] = []

    async def ask(snapshot: str, offset: int, expected: str | None) -> None:
        request = Request(time.perf_counter(), expected)
        requests.append(request)
        items = await client.inline_completion(uri, *position(snapshot, offset))
        request.answered_at = time.perf_counter()
        request.text = items[0].insert_text if items else ""

    keys: list[str] = []
    for char in body:
        if rng.random() < WRONG_KEY:
            keys += ["#", "\b"]
        keys.append(char)
    for key in keys:
        if key == "\b":
            text, cursor = text[:cursor - 1] + text[cursor:], cursor - 1
        else:
            text, cursor = text[:cursor] + key + text[cursor:], cursor + 1
        version += 1
        now = time.perf_counter()
        for earlier in requests:
            if earlier.answered_at is None and earlier.superseded_at is None:
                earlier.superseded_at = now
        client.change(uri, text, version)
        keystrokes += 1
        expected = shown[1:] if key != "\b" and shown[:1] == key and len(shown) > 1 else None
        if rng.random() < JUMP:  # a look elsewhere, then back
            pending.append(asyncio.create_task(ask(text, len(text.split("\n", 1)[0]), None)))
        task = asyncio.create_task(ask(text, cursor, expected))
        pending.append(task)
        await asyncio.sleep(rng.uniform(1 / 12, 1 / 8))
        if task.done() and requests[-1].text:
            shown = requests[-1].text
        elif expected is None:
            shown = ""
    await asyncio.gather(*pending)
    return keystrokes


def percentiles(values: list[float]) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"{statistics.median(ordered):.0f} / {pick(0.95):.0f} / {pick(0.99):.0f}"


def write_histogram(path: Path, latencies_ms: list[float], bin_ms: int = 25, bins: int = 40) -> None:
    """A bar chart PNG of the latencies."""
    counts = [0] * bins
    for value in latencies_ms:
        counts[min(bins - 1, int(value // bin_ms))] += 1
    write_bars(path, [[count] for count in counts], [(70, 110, 180)])


async def _loaded_models(client: TandemClient) -> dict | None:
    """The server's models once loaded; None, after saying why, when they failed to load (a
    server without models answers every request at once with nothing: no latency to report)."""
    status = await client.status()
    while status["state"] == "loading":
        await asyncio.sleep(0.2)
        status = await client.status()
    if status["state"] != "ready" or not status.get("models"):
        print(f"tandem bench latency: the server has no models to time ({status['state']}): "
              f"{status.get('error') or 'no models loaded'}", file=sys.stderr)
        return None
    return status["models"]


def describe_models(models: dict) -> str:
    """One line naming what was timed: each model's directory and size, device and dtype."""
    def one(role: str) -> str:
        model = models[role]
        engine = model["engine"].split(" (", 1)[0]  # its name; the reason in brackets is `tandem doctor`'s
        return f"{role} {model['path']} ({model['parameters'] / 1e6:.1f}M, {engine})"
    return f"models: {one('draft')} · {one('target')} · {models['device']}/{models['dtype']}"


async def run(server_args: list[str], settings: dict, functions: int, seed: int, png: Path) -> int:
    client = TandemClient(server_args)
    await client.start(settings)
    try:
        loaded = await _loaded_models(client)
        if loaded is None:
            return 2
        pid = client.client._server.pid
        rng = random.Random(seed)
        requests: list[Request] = []
        cpu_before, keystrokes = cpu_seconds(pid), 0
        for index, (document, cursor, body) in enumerate(pick_functions(functions, seed)):
            keystrokes += await type_function(client, f"file:///bench/typed_{index}.py", document, cursor,
                                              body, rng, requests)
        cpu = cpu_seconds(pid) - cpu_before
        stats = (await client.status())["stats"]
    finally:
        await client.stop()
    latency = [(r.answered_at - r.sent) * 1000 for r in requests]
    answered = [(r.answered_at - r.sent) * 1000 for r in requests if r.text]
    is_through = [r.expected_type_through is not None and r.text == r.expected_type_through for r in requests]
    through = [(r.answered_at - r.sent) * 1000 for r, t in zip(requests, is_through) if t]
    by_models = [(r.answered_at - r.sent) * 1000 for r, t in zip(requests, is_through) if r.text and not t]
    write_histogram(png, latency)
    print(f"tandem bench latency: {functions} held-out function bodies retyped at 8–12 chars/s, "
          f"{keystrokes} keystrokes, {len(requests)} requests; ms p50 / p95 / p99")
    print(describe_models(loaded))
    rows = [
        ("all requests", percentiles(latency)),
        (f"answered with text ({len(answered)})", percentiles(answered)),
        (f"  by the models ({len(by_models)})", percentiles(by_models)),
        (f"  type-through answers ({len(through)}; server: {stats['typeThrough']})", percentiles(through)),
        (f"stale answers (newer change sent ≥{STALE_GRACE * 1000:.0f} ms before)", str(sum(r.stale for r in requests))),
        ("KV reuse (prompt tokens)", f"{stats['kvReuse']:.1%}" if stats["kvReuse"] is not None else "–"),
        ("server CPU-seconds per keystroke", f"{cpu / max(1, keystrokes):.3f}"),
        ("server: cancelled / stale dropped", f"{stats['cancelled']} / {stats['stale']}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"histogram of all latencies (25 ms bins, 0–1 s): {png}")
    return 0
