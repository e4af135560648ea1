"""A fake Generator: one token per character, and a scripted continuation fed through the
stop callback token by token exactly as the real decoder does."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

FIM = {"<PRE>": 1000, "<SUF>": 1001, "<MID>": 1002, "<EOT>": 1003}


@dataclass(frozen=True)
class FakeStats:
    prompt_tokens: int
    new_tokens: int
    stop_reason: str
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.001
    drafted: int = 0
    accepted: int = 0
    target_passes: int = 1
    reused_prompt_tokens: int = 0


@dataclass(frozen=True)
class FakeGeneration:
    token_ids: tuple[int, ...]
    text: str
    stats: FakeStats


@dataclass
class FakeGenerator:
    continuation: str = ""
    vocabulary: dict = field(default_factory=lambda: dict(FIM))
    context_window: int = 4096
    draft_context_window: int = 2048
    bos_id: int | None = 1
    seconds_per_token: float = 0.0  # a slow model, for time budgets
    prompts: list = field(default_factory=list)
    draft_prompts: list = field(default_factory=list)

    def token_id(self, token):
        return self.vocabulary.get(token)

    def encode(self, text):
        return [ord(c) + 10 for c in text]

    def decode(self, ids):
        return "".join(chr(i - 10) for i in ids)

    def generate(self, prompt_ids, max_new_tokens, end_ids=(), should_stop=lambda t: False,
                 is_cancelled=lambda: False, draft_prompt_ids=None, min_new_tokens=0):
        self.prompts.append(tuple(prompt_ids))
        self.draft_prompts.append(tuple(draft_prompt_ids or ()))
        text, reason = "", "eos"
        for char in self.continuation[:max_new_tokens]:
            if self.seconds_per_token:
                time.sleep(self.seconds_per_token)
            text += char
            if should_stop(text):
                reason = "stop-rule"
                break
        else:
            if len(self.continuation) >= max_new_tokens:
                reason = "max-tokens"
        return FakeGeneration(tuple(self.encode(text)), text, FakeStats(len(prompt_ids), len(text), reason))
