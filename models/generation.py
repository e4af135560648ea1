"""Plain result types of decoding, shared by every decoder in this package."""

from __future__ import annotations

from dataclasses import dataclass

# Why generation ended.
STOP_EOS = "eos"            # the model's end token (EOS, or EOT after an infill)
STOP_RULE = "stop-rule"     # the caller's stop callback said the text is complete
STOP_MAX_TOKENS = "max-tokens"
STOP_CANCELLED = "cancelled"
STOP_ERROR = "error"         # the model produced NaN/inf logits


@dataclass(frozen=True)
class GenerationStats:
    prompt_tokens: int
    new_tokens: int
    prefill_seconds: float
    decode_seconds: float
    stop_reason: str
    reused_prompt_tokens: int = 0  # prompt tokens whose KV came from the previous request

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.decode_seconds if self.decode_seconds > 0 else 0.0


@dataclass(frozen=True)
class Generation:
    token_ids: tuple[int, ...]
    text: str
    stats: GenerationStats
