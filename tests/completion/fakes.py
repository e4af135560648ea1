"""A fake Generator: one token per character, and a scripted continuation fed through the
stop callback token by token exactly as the real decoder does."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from models.config import DecodingConfig
from models.records import DecodeStats, StopReason

FIM = {"<PRE>": 1000, "<SUF>": 1001, "<MID>": 1002, "<EOT>": 1003}


@dataclass(frozen=True)
class FakeGeneration:
    token_ids: tuple[int, ...]
    text: str
    stats: DecodeStats


@dataclass
class FakeGenerator:
    continuation: str = ""
    vocabulary: dict = field(default_factory=lambda: dict(FIM))
    context_window: int = 4096
    draft_context_window: int = 2048
    bos_id: int | None = 1
    seconds_per_token: float = 0.0  # a slow model, for time budgets
    seconds_per_encode: float = 0.0  # a slow tokenizer: context building takes time
    prompts: list = field(default_factory=list)
    draft_prompts: list = field(default_factory=list)
    decodings: list = field(default_factory=list)  # each call's DecodingConfig
    deadlines: list = field(default_factory=list)  # each call's deadline (None: no budget)
    encoded_at: list = field(default_factory=list)  # when each encode call began (perf_counter)
    # The model's next candidates, best first: under banned_first_ids the fake writes the
    # first of [continuation, *alternatives] whose first character's id is not banned.
    alternatives: tuple = ()
    banned: list = field(default_factory=list)  # each call's banned_first_ids

    def token_id(self, token):
        return self.vocabulary.get(token)

    def encode(self, text):
        self.encoded_at.append(time.perf_counter())
        if self.seconds_per_encode:
            time.sleep(self.seconds_per_encode)
        return [ord(c) + 10 for c in text]

    def decode(self, ids):
        return "".join(chr(i - 10) for i in ids)

    def generate(self, prompt_ids, max_new_tokens, end_ids=(), should_stop=lambda t: False,
                 is_cancelled=lambda: False, draft_prompt_ids=None, min_new_tokens=0,
                 decoding=DecodingConfig(), deadline=None, banned_first_ids=()):
        self.prompts.append(tuple(prompt_ids))
        self.banned.append(tuple(banned_first_ids))
        continuation = next((c for c in (self.continuation, *self.alternatives)
                             if not c or ord(c[0]) + 10 not in banned_first_ids), "")
        self.deadlines.append(deadline)
        self.decodings.append(decoding)
        self.draft_prompts.append(tuple(draft_prompt_ids or ()))
        text, reason = "", StopReason.EOS
        for char in continuation[:max_new_tokens]:
            if deadline is not None and time.perf_counter() >= deadline:  # as the decoder, between rounds
                reason = StopReason.TIME_BUDGET
                break
            if self.seconds_per_token:
                time.sleep(self.seconds_per_token)
            text += char
            if should_stop(text):
                reason = StopReason.STOP_RULE
                break
        else:
            if len(continuation) >= max_new_tokens:
                reason = StopReason.MAX_TOKENS
        stats = DecodeStats(prompt_tokens=len(prompt_ids), new_tokens=len(text), stop_reason=reason,
                            decode_seconds=0.001, target_passes=1)
        return FakeGeneration(tuple(ord(c) + 10 for c in text), text, stats)
