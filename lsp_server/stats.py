"""Running request statistics for `tandem/status`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from statistics import quantiles

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
    new_tokens: int = 0
    decode_seconds: float = 0.0
    drafted: int = 0
    accepted: int = 0
    target_passes: int = 0
    prompt_tokens: int = 0
    reused_prompt_tokens: int = 0
    type_through: int = 0   # answered from the suggestion cache, without the models
    stale: int = 0          # finished after the document changed: dropped, never shown
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    last: dict | None = None  # the newest finished request, for `tandem complete` and debugging

    def record(self, latency_ms: float, result, details: dict) -> None:
        """`result` is a completion.service.CompletionResult."""
        self.last = {"latencyMs": round(latency_ms, 1), **details}
        self.requests += 1
        self.answered += bool(result.text)
        self.skipped += result.mode == "none"
        self.new_tokens += result.new_tokens
        self.decode_seconds += result.stage_ms.get("generate", 0.0) / 1000
        self.drafted += result.drafted
        self.accepted += result.accepted
        self.target_passes += result.target_passes
        self.prompt_tokens += result.prompt_tokens
        self.reused_prompt_tokens += result.reused_prompt_tokens
        self.latencies_ms.append(latency_ms)

    def record_type_through(self, latency_ms: float) -> None:
        self.requests += 1
        self.answered += 1
        self.type_through += 1
        self.latencies_ms.append(latency_ms)

    def as_dict(self) -> dict:
        latencies = sorted(self.latencies_ms)
        return {
            "requests": self.requests, "answered": self.answered, "cancelled": self.cancelled,
            "skipped": self.skipped, "failed": self.failed, "last": self.last,
            "latencyMs": {f"p{p}": percentile(latencies, p) for p in (50, 95, 99)},
            "tokensPerSecond": round(self.new_tokens / self.decode_seconds, 1) if self.decode_seconds else None,
            "acceptanceRate": round(self.accepted / self.drafted, 3) if self.drafted else None,
            "tokensPerTargetPass": round(self.new_tokens / self.target_passes, 2) if self.target_passes else None,
            "kvReuse": round(self.reused_prompt_tokens / self.prompt_tokens, 3) if self.prompt_tokens else None,
            "typeThrough": self.type_through, "stale": self.stale,
        }
