"""The small interface through which completion talks to models (plain types only).

`models.pair.ModelPair` satisfies it; unit tests use fakes. Its value types (`DecodingConfig`,
`DecodeStats`) come from torch-free modules of `models`, so they are declared once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from models.config import DecodingConfig
from models.records import DecodeStats


class GenerationLike(Protocol):
    token_ids: tuple[int, ...]
    text: str
    stats: DecodeStats


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
        decoding: DecodingConfig = DecodingConfig(),
        deadline: float | None = None,
        banned_first_ids: Collection[int] = (),
    ) -> GenerationLike:
        """Continue `prompt_ids` as `decoding` says; `should_stop` sees the decoded
        continuation so far. The draft (if any) reads `draft_prompt_ids`, its own
        left-context prompt. End tokens cannot end the continuation before `min_new_tokens`.
        `deadline` (time.perf_counter() seconds; None: none) is the request's time budget:
        past it, prompt reading included, generation ends with what it has (stop reason
        `time-budget`, possibly no tokens). The service passes it only when there is one.
        The first new token is never one of `banned_first_ids` (the service's next candidate
        after one that showed nothing; passed only when not empty)."""
