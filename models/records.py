"""The one per-request record of decoding: counters and timings, every field defaulting to 0.

Decoders fill it; the completion layer carries it in its result; the server's log line,
`tandem/status`, `tandem complete` and the evaluation all read it through `summary()`.
Torch-free, so the upper layers import it freely.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import Enum


class StopReason(str, Enum):
    """Why generation ended (the value is what logs and the wire show)."""
    NONE = ""                  # nothing was generated (no completion at this position)
    EOS = "eos"                # the model's end token (EOS, or EOT after an infill)
    STOP_RULE = "stop-rule"    # the caller's stop rule said the text is complete
    MAX_TOKENS = "max-tokens"
    TIME_BUDGET = "time-budget"
    CANCELLED = "cancelled"    # superseded or cancelled by the client
    ERROR = "error"            # the model produced NaN/inf logits

    def __str__(self) -> str:
        return self.value

    @property
    def cut_short(self) -> bool:
        """Ended by a limit, not by the model or a rule: a block shows whole lines only."""
        return self in (StopReason.MAX_TOKENS, StopReason.TIME_BUDGET)


@dataclass(frozen=True)
class DecodeStats:
    prompt_tokens: int = 0
    reused_prompt_tokens: int = 0    # prompt tokens whose KV came from the previous request
    new_tokens: int = 0
    drafted: int = 0                 # draft tokens proposed ...
    accepted: int = 0                # ... of which the target accepted
    target_passes: int = 0           # target forward passes, prefill included
    rounds: int = 0                  # draft → verify rounds
    draft_steps: int = 0             # the draft model's steady one-token forwards (lookups are free) ...
    draft_step_seconds: float = 0.0  # ... and their time: its prompt prefill and its catch-up
                                     # after rounds without it excluded (Proposal.steps)
    draft_seconds: float = 0.0
    target_seconds: float = 0.0
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    stop_reason: StopReason = StopReason.NONE

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.decode_seconds if self.decode_seconds > 0 else 0.0

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.drafted if self.drafted else None

    @property
    def tokens_per_pass(self) -> float | None:
        return self.new_tokens / self.target_passes if self.target_passes else None

    @property
    def overhead_seconds(self) -> float:
        return max(0.0, self.prefill_seconds + self.decode_seconds - self.draft_seconds - self.target_seconds)

    def __add__(self, other: "DecodeStats") -> "DecodeStats":
        """Totals over requests (the stop reason is the newer one's)."""
        summed = {f.name: getattr(self, f.name) + getattr(other, f.name)
                  for f in fields(self) if f.name != "stop_reason"}
        return DecodeStats(**summed, stop_reason=other.stop_reason)

    @classmethod
    def from_summary(cls, summary: dict) -> "DecodeStats":
        """The record back from its `summary()` (keys it lacks stay 0), e.g. read over LSP."""
        values = {}
        for f in fields(cls):
            head, *rest = f.name.split("_")
            key = head + "".join(part.title() for part in rest)
            if key in summary:
                values[f.name] = StopReason(summary[key]) if f.name == "stop_reason" else summary[key]
        return cls(**values)

    def summary(self) -> dict:
        """camelCase, JSON-ready: what the log line, `tandem/status` and reports show."""
        out = {}
        for name, value in asdict(self).items():
            head, *rest = name.split("_")
            key = head + "".join(part.title() for part in rest)
            out[key] = str(value) if isinstance(value, StopReason) else (
                round(value, 4) if isinstance(value, float) else value)
        return out
