"""`tandem bench context`: the pipeline outside the model — incremental parse after a
keystroke, decide, context, prompt, post-processing and syntax guard — on a 2,000-line
and a 10,000-line file made of standard-library code, with the real tokenizer.

Each sample types one character at a random line end inside the file (the document
store reparses incrementally), then asks for a completion; the model is replaced by a
canned continuation so only the pipeline is timed. Prints medians and p95 per stage.
"""

from __future__ import annotations

import random
import statistics
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from completion.crossfile import OpenDocument
from completion.documents import DocumentTrees
from completion.service import CompletionOptions, CompletionRequest, CompletionService
from models.records import DecodeStats, StopReason

STAGES = ("parse", "decide", "context", "prompt", "finish")
CANNED = "value = compute(data)\n        return value\n"


@dataclass(frozen=True)
class _Generation:
    token_ids: tuple[int, ...]
    text: str
    stats: DecodeStats


class CannedModel:
    """The real tokenizer and vocabulary of `generator`; a fixed continuation instead of
    decoding, fed through the stop rule as the engine would."""

    def __init__(self, generator):
        self._generator = generator
        self.bos_id = generator.bos_id
        self.context_window = generator.context_window
        self.draft_context_window = generator.draft_context_window

    def token_id(self, token):
        return self._generator.token_id(token)

    def encode(self, text):
        return self._generator.encode(text)

    def generate(self, prompt_ids, max_new_tokens, end_ids=(), should_stop=lambda t: False,
                 is_cancelled=lambda: False, draft_prompt_ids=None, min_new_tokens=0, decoding=None, deadline=None):
        text = ""
        for char in CANNED:
            text += char
            if should_stop(text):
                break
        stats = DecodeStats(prompt_tokens=len(prompt_ids), new_tokens=len(text), target_passes=1,
                            stop_reason=StopReason.EOS)
        return _Generation((), text, stats)


def stdlib_file(lines: int) -> str:
    """`lines` lines of standard-library Python, whole modules concatenated."""
    collected: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        collected.extend(path.read_text(encoding="utf-8", errors="replace").split("\n"))
        if len(collected) >= lines:
            break
    return "\n".join(collected[:lines]) + "\n"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(generator, lines: int, samples: int, seed: int = 0) -> dict[str, list[float]]:
    text = stdlib_file(lines)
    trees, uri = DocumentTrees(), f"file:///bench/big_{lines}.py"
    trees.open(uri, text)
    helper = "def compute(data):\n    \"\"\"Sum the data.\"\"\"\n    return sum(data)\n"
    trees.open("file:///bench/helpers.py", helper)
    others = [OpenDocument(d.uri, d.source, d.tree) for d in trees.others(uri)]
    service = CompletionService(CannedModel(generator))
    rng = random.Random(seed)
    line_ends = [i for i, char in enumerate(text) if char == "\n" and text[i - 1:i] not in ("", "\n")]
    timings: dict[str, list[float]] = {stage: [] for stage in ("update", *STAGES, "total")}
    for _ in range(samples):
        at = rng.choice(line_ends)
        text = text[:at] + " " + text[at:]  # a keystroke
        line_ends = [i + (i >= at) for i in line_ends]
        started = time.perf_counter()
        document = trees.update(uri, text)
        update_ms = (time.perf_counter() - started) * 1000
        result = service.complete(CompletionRequest(text, at + 1, CompletionOptions(), uri, document, others))
        timings["update"].append(update_ms)
        for stage in STAGES:
            timings[stage].append(result.stage_ms.get(stage, 0.0))
        timings["total"].append(update_ms + sum(result.stage_ms.get(s, 0.0) for s in STAGES))
    return timings


def main(generator, samples: int) -> int:
    header = f"{'file':<12} " + " ".join(f"{stage:>14}" for stage in ("update", *STAGES, "total"))
    print(f"tandem bench context: {samples} keystrokes + completions per file; ms median / p95; "
          "model replaced by a canned continuation")
    print(header)
    print("-" * len(header))
    for lines in (2000, 10000):
        timings = measure(generator, lines, samples)
        cells = [f"{statistics.median(v):6.2f} /{_percentile(v, 0.95):6.2f}" for v in timings.values()]
        print(f"{lines:>6} lines " + " ".join(f"{cell:>14}" for cell in cells))
    return 0
