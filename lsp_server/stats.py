"""Running request statistics for `tandem/status`: totals of the per-request record."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from statistics import quantiles

from completion.decide import Mode
from completion.service import CompletionResult
from models.records import DecodeStats

WINDOW = 500  # recent requests kept for percentiles


def percentile(values: list[float], p: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[p - 1]


@dataclass
class RunningStats:
    requests: int = 0
    answered: int = 0      # requests that returned non-empty text
    cancelled: int = 0
    skipped: int = 0       # the pipeline decided not to complete there (string, comment, ...)
    failed: int = 0
    type_through: int = 0  # answered from the suggestion cache, without the models
    stale: int = 0         # finished after the document changed: dropped, never shown
    decode: DecodeStats = DecodeStats()  # the models' counters, summed over requests
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    last: dict | None = None  # the newest finished request, for `tandem complete` and debugging

    def record(self, latency_ms: float, result: CompletionResult) -> None:
        self.last = {"latencyMs": round(latency_ms, 1), **result.summary()}
        self.requests += 1
        self.answered += bool(result.text)
        self.skipped += result.mode == Mode.NONE
        self.decode += result.decode
        self.latencies_ms.append(latency_ms)

    def record_type_through(self, latency_ms: float) -> None:
        self.requests += 1
        self.answered += 1
        self.type_through += 1
        self.latencies_ms.append(latency_ms)

    def as_dict(self) -> dict:
        latencies, d = sorted(self.latencies_ms), self.decode
        return {
            "requests": self.requests, "answered": self.answered, "cancelled": self.cancelled,
            "skipped": self.skipped, "failed": self.failed, "last": self.last,
            "latencyMs": {f"p{p}": percentile(latencies, p) for p in (50, 95, 99)},
            "tokensPerSecond": round(d.tokens_per_second, 1) if d.decode_seconds else None,
            "acceptanceRate": round(d.acceptance, 3) if d.acceptance is not None else None,
            "tokensPerTargetPass": round(d.tokens_per_pass, 2) if d.tokens_per_pass is not None else None,
            "kvReuse": round(d.reused_prompt_tokens / d.prompt_tokens, 3) if d.prompt_tokens else None,
            "typeThrough": self.type_through, "stale": self.stale,
        }
