"""KV-cache reuse across requests: keep a model's cache for the last sequence it read,
and prefill only what a new prompt adds beyond their longest common token prefix.

While the user types, consecutive prompts share almost all their tokens (completion/
context.py keeps the prompt's start stable), so a request pays for its last few tokens
instead of the whole prompt (llama-server's `cache_prompt` does this for llama.vim).
One PrefixCache per model; the model worker uses them one request at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache

from models.decoding.forward import Logits, feeder
from models.decoding.generation import past
from models.decoding.kv import new_cache, rollback


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


# Prompt tokens fed per forward while prefilling. A prompt read in one forward cannot be
# interrupted, and the time budget is a promise (a 360-line file's first prefill on a
# real-size model takes seconds): between chunks the deadline is checked, and the chunks
# already read stay cached for the next request. The budget may overrun by one chunk.
# Smaller chunks cost throughput: each forward pays per-call overhead and attends over the
# cache again (embedded pair, 450 tokens, one CPU thread: 256 costs about the same as one
# forward, 128 about 15 % more, 64 60-90 % more); 256 tokens of a 7B target take tens of
# milliseconds on a GPU.
PREFILL_CHUNK = 256


@dataclass
class PrefixCache:
    ids: list[int] = field(default_factory=list)  # exactly the tokens `cache` holds
    cache: DynamicCache | None = None
    chunk: int = PREFILL_CHUNK  # tokens per prefill forward
    reused_tokens: int = 0     # running totals, for the reuse ratio ...
    prompt_tokens: int = 0
    chunks: int = 0            # ... and the prefill forwards run

    @torch.inference_mode()
    def prefill(self, model: torch.nn.Module, prompt_ids: Sequence[int], token_map=lambda ids: ids,
                deadline: float | None = None, is_cancelled: Callable[[], bool] = lambda: False,
                ) -> tuple[DynamicCache, Logits | None, int]:
        """(cache holding `prompt_ids`, logits after the prompt's last token (1 × vocab),
        tokens reused). At least the last prompt token is fed, for its logits, time allowing.
        `token_map` rewrites ids before they reach the model (the draft's unknown ids).

        The new tokens go in chunks of `chunk`. Once `deadline` has passed no chunk starts,
        nor once `is_cancelled()` says so between chunks (a warm-up's prefill yields to the
        real request within a chunk); then the logits are None, and the cache holds (and
        `ids` names) the prompt's first tokens only, which the next prefill of a prompt
        that starts alike reuses."""
        prompt = list(prompt_ids)
        self._drop_if_stale()
        keep = min(common_prefix(self.ids, prompt), len(prompt) - 1) if self.cache is not None else 0
        if keep <= 0:
            self.cache, keep = new_cache(model), 0
        else:
            rollback(self.cache, keep)
        self.ids = prompt[:keep]  # if a forward fails, the cache still holds exactly these
        self.reused_tokens += keep
        self.prompt_tokens += len(prompt)
        feed = feeder(model)
        fed, logits = keep, None
        while fed < len(prompt):
            if past(deadline) or (fed > keep and is_cancelled()):
                return self.cache, None, keep
            piece = prompt[fed:fed + max(1, self.chunk)]
            # Only the last position's logits are needed: skipping the rest saves a quarter
            # of a 200-token prefill on a CPU.
            logits = feed(token_map(piece), self.cache, 1)[-1:]
            fed += len(piece)
            self.ids = prompt[:fed]
            self.chunks += 1
        return self.cache, logits, keep

    def record(self, sequence: Sequence[int]) -> None:
        """After decoding: the cache holds a prefix of `sequence` (prompt + continuation,
        minus what was never fed or was rolled back); cut it to what both agree on."""
        self._drop_if_stale()
        held = self.cache.get_seq_length() if self.cache is not None else 0
        keep = min(held, len(sequence))
        if self.cache is not None:
            rollback(self.cache, keep)
        self.ids = list(sequence[:keep])

    def forget(self) -> None:
        self.cache, self.ids = None, []

    def _drop_if_stale(self) -> None:
        """A llama.cpp model holds one live cache (its context): when another caller took
        it since (a plain greedy decode, a benchmark), ours says `stale` and is dropped."""
        if getattr(self.cache, "stale", False):
            self.forget()

    @property
    def reuse_ratio(self) -> float | None:
        return self.reused_tokens / self.prompt_tokens if self.prompt_tokens else None
