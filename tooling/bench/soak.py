"""`tandem bench soak`: one server, thousands of keystrokes and a stream of broken messages.

Typing is replayed across many documents with a completion request per keystroke, cancels,
jumps, and documents closed and opened again, as fast as a pacing interval allows. The same
keystroke script runs twice against fresh servers, side by side in one command: once clean,
once with malformed messages mixed in (bad framing, bad JSON, invalid UTF-8, invalid params,
unknown methods, changes to closed documents, out-of-range edits). It prints the server's
RSS over time, the latency of the normal requests in both runs, and counts of unanswered
requests and errors: the targets are every request answered, RSS growth after warm-up of at
most 50 MB, and a p95 within 1.5x of the clean run.

The client is raw bytes over the server's stdin/stdout (a client library would refuse to
send half of what this sends).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from training import corpus

RSS_GROWTH_LIMIT_MB = 50
P95_RATIO_LIMIT = 1.5
WARM_UP_SHARE = 0.1  # RSS growth is counted from this share of the keystrokes on
REQUEST_CANCELLED = -32800
DRAIN_SECONDS = 120  # after the last keystroke, how long answers may still take
SNIPPET = ("    result = compute(value, limit=10)\n    if result is None:\n        return []\n"
           "    for item in items:\n        total += item.size  # ünïcode 🐍\n")


@dataclass
class Step:
    """One keystroke of the script: which document, and what happens there."""
    document: int
    action: str  # type | backspace | jump | close | malformed
    char: str = ""
    line: int = 0
    cancel: bool = False
    malformed: int = 0


@dataclass
class RunResult:
    latencies_ms: list[float] = field(default_factory=list)  # normal completion requests
    rss_mb: list[tuple[int, float]] = field(default_factory=list)  # (keystroke, RSS)
    normal_sent: int = 0
    unanswered: int = 0
    normal_errors: dict[int, int] = field(default_factory=dict)  # error code -> count
    error_examples: dict[int, str] = field(default_factory=dict)  # error code -> its first message
    malformed_sent: int = 0
    malformed_answered: int = 0  # broken requests that still got an answer (an error)
    cancelled: int = 0  # answered "cancelled" after the client's $/cancelRequest
    messages: int = 0  # window/showMessage notifications
    alive: bool = True
    exit_code: int | None = None  # after shutdown and exit; None when it did not exit
    seconds: float = 0.0


def documents(count: int, seed: int) -> list[str]:
    """Held-out standard-library files, 2–30 KB each."""
    rng = random.Random(seed)
    files = [f.text for f in corpus.load_split(held_out=True) if 2000 < len(f.text) < 30000]
    rng.shuffle(files)
    return files[:count]


def script(keystrokes: int, document_count: int, seed: int, malformed: bool) -> list[Step]:
    """The keystrokes: mostly typing in one document, sometimes elsewhere. The malformed
    run interleaves broken messages between the same keystrokes, so both runs type alike."""
    rng, steps, current = random.Random(seed), [], 0
    malformed_rng = random.Random(seed + 1)
    # Warm-up: every document is visited once, so what grows with documents seen (their
    # trees, caches) has grown before RSS growth is counted.
    per_document = max(1, int(keystrokes * WARM_UP_SHARE) // document_count)
    for index in range(keystrokes):
        roll = rng.random()
        if index < per_document * document_count:
            if index % per_document == 0:
                current = index // per_document
                steps.append(Step(current, "jump", line=rng.randrange(10**6)))
            else:
                steps.append(Step(current, "type", char=SNIPPET[index % len(SNIPPET)]))
        elif roll < 0.01:
            current = rng.randrange(document_count)
            steps.append(Step(current, "jump", line=rng.randrange(10**6)))
        elif roll < 0.013:
            steps.append(Step(current, "close"))
        elif roll < 0.06:
            steps.append(Step(current, "backspace", cancel=rng.random() < 0.3))
        else:
            steps.append(Step(current, "type", char=SNIPPET[index % len(SNIPPET)], cancel=rng.random() < 0.1))
        if malformed and malformed_rng.random() < 0.05:
            steps.append(Step(current, "malformed", malformed=malformed_rng.randrange(len(BROKEN))))
    return steps


def _frame(body: bytes, delta: int = 0) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % (len(body) + delta) + body


def _request(request_id: int | str, method: str, params) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()


# Broken messages, given a request id and an open document: (bytes to send, whether a request
# id among them deserves an answer).
BROKEN = [
    lambda i, uri: (_frame(b'{"jsonrpc": "2.0", "id": "%s", "method": "tandem/status", ' % i.encode()), True),  # cut JSON
    lambda i, uri: (_frame(_request(i, "tandem/status", {"t": "ünï"}), delta=-3), True),  # length in characters
    lambda i, uri: (_frame(_request(i, "tandem/status", {}), delta=+9), True),  # too long: ends at the next header
    lambda i, uri: (_frame(b'{"jsonrpc": "2.0", "method": "x", "params": "\xff\xfe"}'), False),  # not UTF-8
    lambda i, uri: (b"garbage without any header\r\n\r\n", False),
    lambda i, uri: (b"Content-Length: 1000000000000\r\n\r\n{}", False),  # absurd length, no body
    lambda i, uri: (_frame(_request(i, "textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": -1, "character": "x"}})), True),
    lambda i, uri: (_frame(_request(i, "textDocument/inlineCompletion", {
        "textDocument": {"uri": "file:///never/opened.py"}, "position": {"line": 0, "character": 0}})), True),
    lambda i, uri: (_frame(_request(i, "no/suchMethod", [1, 2, 3])), True),
    lambda i, uri: (_frame(json.dumps({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": "file:///never/opened.py", "version": 9},
        "contentChanges": [{"text": "x"}]}}).encode()), False),
    lambda i, uri: (_frame(json.dumps({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", "params": {
        "settings": {"tandem": {"draftTokens": "many", "temperature": -4, "nonsense": {"a": [1]}}}}}).encode()), False),
]


class RawClient:
    """Requests and notifications as bytes over the server's stdio; answers matched by id."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: dict[int | str, tuple[float, asyncio.Future]] = {}
        self.messages = 0
        self.next_id = 0
        self.sync_kind = 1
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        stdout = self.process.stdout
        while True:
            header = await stdout.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in header.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            message = json.loads(await stdout.readexactly(length))
            if "method" in message:
                if message["method"] == "window/showMessage":
                    self.messages += 1
                if "id" in message:  # a request from the server (progress, configuration): say yes
                    self.send(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": None}).encode())
                continue
            entry = self.pending.pop(message.get("id"), None)
            if entry is not None and not entry[1].done():
                entry[1].set_result((time.perf_counter() - entry[0], message))

    def send(self, body: bytes) -> None:
        self.process.stdin.write(_frame(body))

    def request(self, method: str, params) -> tuple[int, asyncio.Future]:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = (time.perf_counter(), future)
        self.send(_request(self.next_id, method, params))
        return self.next_id, future

    def expect(self, request_id: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = (time.perf_counter(), future)
        return future

    def notify(self, method: str, params) -> None:
        self.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params}).encode())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Editor:
    """The client's copy of every document, and the LSP traffic one keystroke makes."""

    def __init__(self, client: RawClient, texts: list[str]) -> None:
        self.client, self.texts = client, list(texts)
        self.uris = [f"file:///soak/my%20project/module_{i}.py" for i in range(len(texts))]
        self.cursors = [len(text.split("\n", 1)[0]) for text in texts]
        self.versions = [1] * len(texts)
        self.open_now = [False] * len(texts)

    def open(self, index: int) -> None:
        self.versions[index] += 1
        self.open_now[index] = True
        self.client.notify("textDocument/didOpen", {"textDocument": {
            "uri": self.uris[index], "languageId": "python", "version": self.versions[index], "text": self.texts[index]}})

    def close(self, index: int) -> None:
        self.open_now[index] = False
        self.client.notify("textDocument/didClose", {"textDocument": {"uri": self.uris[index]}})

    def edit(self, index: int, start: int, end: int, insert: str) -> None:
        """Replace text[start:end] with `insert`, as a ranged change when the server takes them."""
        text = self.texts[index]
        self.versions[index] += 1
        if self.client.sync_kind == 2:
            change = {"range": {"start": _position(text, start), "end": _position(text, end)}, "text": insert}
        else:
            change = {"text": text[:start] + insert + text[end:]}
        self.texts[index] = text[:start] + insert + text[end:]
        self.cursors[index] = start + len(insert)
        self.client.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uris[index], "version": self.versions[index]}, "contentChanges": [change]})

    def jump(self, index: int, line: int) -> None:
        lines = self.texts[index].split("\n")
        line %= len(lines)
        self.cursors[index] = sum(len(row) + 1 for row in lines[:line]) + len(lines[line])

    def complete(self, index: int) -> tuple[int, asyncio.Future]:
        position = _position(self.texts[index], self.cursors[index])
        return self.client.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": self.uris[index]}, "position": position, "context": {"triggerKind": 2}})


def _position(text: str, offset: int) -> dict:
    line_start = text.rfind("\n", 0, offset) + 1
    units = len(text[line_start:offset].encode("utf-16-le")) // 2
    return {"line": text.count("\n", 0, offset), "character": units}


async def run_once(server_args: list[str], settings: dict, steps: list[Step], texts: list[str],
                   interval_s: float, samples: int) -> RunResult:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lsp_server", "serve", *server_args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        limit=64 * 2**20)
    client, result = RawClient(process), RunResult()
    try:
        _, initialized = client.request("initialize", {
            "processId": None, "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
            "initializationOptions": {"tandem": settings}})
        capabilities = (await asyncio.wait_for(initialized, 60))[1]["result"]["capabilities"]
        sync = capabilities.get("textDocumentSync")
        client.sync_kind = sync.get("change", 1) if isinstance(sync, dict) else (sync or 1)
        client.notify("initialized", {})
        while True:  # models loaded: latency from here on is the pipeline's
            status = (await asyncio.wait_for(client.request("tandem/status", {})[1], 300))[1]["result"]
            if status["state"] != "loading":
                break
            await asyncio.sleep(0.2)
        editor = Editor(client, texts)
        for index in range(len(texts)):
            editor.open(index)
        normal: list[asyncio.Future] = []
        broken: list[asyncio.Future] = []
        keystrokes = sum(step.action != "malformed" for step in steps)
        every = max(1, keystrokes // samples)
        started, done, previous = time.perf_counter(), 0, None
        result.rss_mb.append((0, rss_mb(process.pid)))
        for step in steps:
            index = step.document
            if step.action == "malformed":
                request_id = f"broken-{result.malformed_sent}"
                data, answerable = BROKEN[step.malformed](request_id, editor.uris[index])
                if answerable:
                    broken.append(client.expect(request_id))
                result.malformed_sent += 1
                process.stdin.write(data)
                continue
            if not editor.open_now[index]:
                editor.open(index)
            if step.action == "close":
                editor.close(index)
            else:
                if step.action == "jump":
                    editor.jump(index, step.line)
                elif step.action == "backspace" and editor.cursors[index] > 0:
                    editor.edit(index, editor.cursors[index] - 1, editor.cursors[index], "")
                elif step.action == "type":
                    editor.edit(index, editor.cursors[index], editor.cursors[index], step.char)
                if step.cancel and previous is not None:
                    client.notify("$/cancelRequest", {"id": previous})
                previous, future = editor.complete(index)
                normal.append(future)
            done += 1
            if done % every == 0:
                result.rss_mb.append((done, rss_mb(process.pid)))
            await process.stdin.drain()
            await asyncio.sleep(interval_s)
        # A last request: it also ends a frame whose length ran past the script's last message.
        final = client.request("tandem/status", {})[1]
        await asyncio.wait([*normal, *broken, final], timeout=DRAIN_SECONDS)
        result.seconds = time.perf_counter() - started
        result.rss_mb.append((done, rss_mb(process.pid)))
        result.normal_sent, result.malformed_answered = len(normal), sum(f.done() for f in broken)
        result.unanswered = sum(not f.done() for f in normal) + sum(not f.done() for f in broken)
        for future in normal:
            if future.done():
                elapsed, message = future.result()
                if "error" in message and message["error"].get("code") == REQUEST_CANCELLED:
                    result.cancelled += 1
                elif "error" in message:
                    code = message["error"].get("code", 0)
                    result.normal_errors[code] = result.normal_errors.get(code, 0) + 1
                    result.error_examples.setdefault(code, message["error"].get("message", ""))
                else:
                    result.latencies_ms.append(elapsed * 1000)
        result.messages = client.messages
        result.alive = process.returncode is None
        if result.alive:  # a clean goodbye: shutdown, exit, and the exit status
            await asyncio.wait([client.request("shutdown", None)[1]], timeout=30)
            client.notify("exit", None)
            try:
                result.exit_code = await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                result.exit_code = None
        return result
    finally:
        client._reader.cancel()
        if process.returncode is None:
            process.kill()
        await process.wait()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _growth(run: RunResult, keystrokes: int) -> float:
    """The most RSS grew above its value at the end of the warm-up (every document visited)."""
    after = [rss for keystroke, rss in run.rss_mb if keystroke >= keystrokes * WARM_UP_SHARE]
    return max(after) - after[0] if after else float("nan")


def report(clean: RunResult | None, soak: RunResult, keystrokes: int) -> int:
    """Print the tables; 0 when every target is met."""
    growth = {name: _growth(run, keystrokes) for name, run in (("clean", clean), ("soak", soak)) if run}
    print("RSS of the server (MB)")
    print(f"{'keystrokes':>10}  {'clean run':>10}  {'soak run':>10}")
    clean_rss = dict(clean.rss_mb) if clean else {}
    for keystroke, rss in soak.rss_mb:
        before = f"{clean_rss[keystroke]:.1f}" if keystroke in clean_rss else "–"
        print(f"{keystroke:>10}  {before:>10}  {rss:>10.1f}")
    print()
    rows = [("", "clean run", "soak run")]

    def both(getter) -> tuple[str, str]:
        return (getter(clean) if clean else "–", getter(soak))

    rows += [
        ("normal requests sent", *both(lambda r: str(r.normal_sent))),
        ("malformed messages sent", *both(lambda r: str(r.malformed_sent))),
        ("malformed requests answered (with an error)", *both(lambda r: str(r.malformed_answered))),
        ("unanswered requests", *both(lambda r: str(r.unanswered))),
        ("normal requests answered \"cancelled\"", *both(lambda r: str(r.cancelled))),
        ("normal requests answered with an error", *both(lambda r: str(sum(r.normal_errors.values())))),
        ("latency p50 (ms)", *both(lambda r: f"{statistics.median(r.latencies_ms):.0f}" if r.latencies_ms else "–")),
        ("latency p95 (ms)", *both(lambda r: f"{_percentile(r.latencies_ms, 0.95):.0f}")),
        ("messages shown to the user", *both(lambda r: str(r.messages))),
        ("RSS growth after warm-up (MB)", *both(lambda r: f"{_growth(r, keystrokes):.1f}")),
        ("seconds", *both(lambda r: f"{r.seconds:.0f}")),
        ("server alive at the end", *both(lambda r: "yes" if r.alive else "NO")),
        ("exit status after shutdown and exit", *both(lambda r: str(r.exit_code))),
    ]
    width = max(len(row[0]) for row in rows)
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:>10}  {b:>10}")
    ratio = _percentile(soak.latencies_ms, 0.95) / _percentile(clean.latencies_ms, 0.95) if clean else None
    checks = [
        ("every request answered", soak.unanswered == 0 and (clean is None or clean.unanswered == 0)),
        ("no normal request answered with an error", not soak.normal_errors and (clean is None or not clean.normal_errors)),
        (f"RSS growth after warm-up {growth['soak']:.1f} MB ≤ {RSS_GROWTH_LIMIT_MB} MB",
         growth["soak"] <= RSS_GROWTH_LIMIT_MB),
        (f"p95 soak / clean {ratio:.2f} ≤ {P95_RATIO_LIMIT}" if ratio is not None else "p95 ratio (no clean run)",
         ratio is None or ratio <= P95_RATIO_LIMIT),
        ("the server lived, and exited 0 when told", soak.alive and soak.exit_code == 0),
    ]
    print()
    for name, ok in checks:
        print(f"{'ok  ' if ok else 'FAIL'}  {name}")
    for run in (clean, soak):
        for code, example in (run.error_examples.items() if run else ()):
            print(f"{'clean' if run is clean else 'soak'} run, error {code} ({run.normal_errors[code]}×), "
                  f"for example: {example}")
    return 0 if all(ok for _, ok in checks) else 1


async def run(server_args: list[str], settings: dict, keystrokes: int, document_count: int, seed: int,
              interval_ms: float, clean: bool, samples: int = 10) -> int:
    texts = documents(document_count, seed)
    print(f"tandem bench soak: {keystrokes} keystrokes with a completion request each across {len(texts)} "
          f"documents, {interval_ms:g} ms apart; the soak run adds malformed messages", flush=True)
    clean_result = None
    if clean:
        clean_result = await run_once(server_args, settings, script(keystrokes, len(texts), seed, False),
                                      texts, interval_ms / 1000, samples)
    soak = await run_once(server_args, settings, script(keystrokes, len(texts), seed, True),
                          texts, interval_ms / 1000, samples)
    return report(clean_result, soak, keystrokes)
