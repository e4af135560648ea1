"""The small interface through which completion talks to models (plain types only).

`models.pair.ModelPair` satisfies it; unit tests use fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol


class GenerationStatsLike(Protocol):
    prompt_tokens: int
    new_tokens: int
    prefill_seconds: float
    decode_seconds: float
    stop_reason: str  # "eos" | "stop-rule" | "max-tokens" | "cancelled" | "error"
    drafted: int        # draft tokens proposed
    accepted: int       # ... of which the target accepted
    target_passes: int  # target forward passes, prefill included
    reused_prompt_tokens: int  # prompt tokens whose KV came from the previous request


class GenerationLike(Protocol):
    token_ids: tuple[int, ...]
    text: str
    stats: GenerationStatsLike


class Generator(Protocol):
    bos_id: int | None
    context_window: int        # the target's positions
    draft_context_window: int  # the draft's positions

    def token_id(self, token: str) -> int | None:
        """Id of a token spelled exactly so, or None when the vocabulary lacks it."""

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, without special tokens."""

    def generate(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        end_ids: Collection[int] = (),
        should_stop: Callable[[str], bool] = ...,
        is_cancelled: Callable[[], bool] = ...,
        draft_prompt_ids: Sequence[int] | None = None,
        min_new_tokens: int = 0,
    ) -> GenerationLike:
        """Continue `prompt_ids`; `should_stop` sees the decoded continuation so far. The
        draft (if any) reads `draft_prompt_ids`, its own left-context prompt. End tokens
        cannot end the continuation before `min_new_tokens`."""
