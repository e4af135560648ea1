"""The plain inputs and outputs every decoder here shares: when to stop, what came out."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from models.records import DecodeStats, StopReason


def never(*args) -> bool:
    """The default stop rule and cancel flag. A continuation whose stop rule is this one
    decodes its text once, at the end (Continuation.text)."""
    return False


def past(deadline: float | None) -> bool:
    """Whether an absolute `deadline` (time.perf_counter() seconds; None: none) has passed."""
    return deadline is not None and time.perf_counter() >= deadline


@dataclass(frozen=True)
class Stops:
    """When a continuation ends. End ids are not part of the output and cannot end it
    before `min_new_tokens`; `should_stop` sees the decoded text after every token;
    `is_cancelled` is asked between rounds. `deadline` (time.perf_counter() seconds, the
    request's whole time budget; None: none) is checked between rounds and between the
    chunks of a prefill: past it, generation ends with what it has. The first new token
    is never one of `banned_first_ids` (the caller's next candidate after one it rejected)."""
    max_new_tokens: int
    end_ids: Collection[int] = ()
    min_new_tokens: int = 0
    should_stop: Callable[[str], bool] = never
    is_cancelled: Callable[[], bool] = never
    deadline: float | None = None
    banned_first_ids: Collection[int] = ()

    def expired(self) -> bool:
        return past(self.deadline)


@dataclass
class Continuation:
    """The tokens emitted so far and their text, grown token by token under `stops`."""
    stops: Stops
    decode: Callable[[Sequence[int]], str]
    tokens: list[int] = field(default_factory=list)  # only ever grows (extend): `text` relies on it
    _text: str = field(default="", repr=False)
    _decoded: int = field(default=0, repr=False)  # how many of `tokens` `_text` spells

    @property
    def text(self) -> str:
        """The tokens' text, decoded when asked: after every token where a stop rule reads
        it, else once at the end (a tenth of a llama.cpp step per token, saved)."""
        if self._decoded != len(self.tokens):
            self._text, self._decoded = self.decode(self.tokens), len(self.tokens)
        return self._text

    def extend(self, tokens: Sequence[int]) -> StopReason | None:
        """Append `tokens` one by one, honouring every stop at its exact token (a stop can
        fall inside an accepted run: the rest of the run is dropped)."""
        reads_text = self.stops.should_stop is not never
        for token in tokens:
            if token in self.stops.end_ids:
                return StopReason.EOS
            self.tokens.append(token)
            if reads_text and self.stops.should_stop(self.text):
                return StopReason.STOP_RULE
            if len(self.tokens) >= self.stops.max_new_tokens:
                return StopReason.MAX_TOKENS
        return None

    def remaining(self) -> int:
        return self.stops.max_new_tokens - len(self.tokens)

    def banned(self) -> set[int]:
        """Ids the next token may not be: the end ids before `min_new_tokens`, and the
        banned first ids at the first position."""
        banned = set(self.stops.end_ids) if self.early() > 0 else set()
        return banned | set(self.stops.banned_first_ids) if not self.tokens else banned

    def early(self) -> int:
        """How many of the next positions may not end the continuation (min_new_tokens)."""
        return self.stops.min_new_tokens - len(self.tokens)


@dataclass(frozen=True)
class Generation:
    token_ids: tuple[int, ...]
    text: str
    stats: DecodeStats
