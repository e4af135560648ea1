"""KV-cache reuse across requests: keep a model's cache for the last sequence it read,
and prefill only what a new prompt adds beyond their longest common token prefix.

While the user types, consecutive prompts share almost all their tokens (completion/
context.py keeps the prompt's start stable), so a request pays for its last few tokens
instead of the whole prompt (llama-server's `cache_prompt` does this for llama.vim).
One PrefixCache per model; the model worker uses them one request at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache

from models.decoding.kv import new_cache, rollback


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@dataclass
class PrefixCache:
    ids: list[int] = field(default_factory=list)  # exactly the tokens `cache` holds
    cache: DynamicCache | None = None
    reused_tokens: int = 0     # running totals, for the reuse ratio
    prompt_tokens: int = 0

    @torch.inference_mode()
    def prefill(self, model: torch.nn.Module, prompt_ids: Sequence[int],
                token_map=lambda ids: ids) -> tuple[DynamicCache, torch.Tensor, int]:
        """(cache holding `prompt_ids`, logits after the prompt's last token (1 × vocab),
        tokens reused). At least the last prompt token is always fed, for its logits.
        `token_map` rewrites ids before they reach the model (the draft's unknown ids)."""
        prompt = list(prompt_ids)
        keep = min(common_prefix(self.ids, prompt), len(prompt) - 1) if self.cache is not None else 0
        if keep <= 0:
            self.cache, keep = new_cache(model), 0
        else:
            rollback(self.cache, keep)
        self.ids = prompt[:keep]  # if the forward fails, the cache still holds exactly these
        device = model.get_input_embeddings().weight.device
        inputs = torch.tensor([token_map(prompt[keep:])], dtype=torch.long, device=device)
        logits = model(input_ids=inputs, cache=self.cache, use_cache=True, logits_to_keep=1).logits[0, -1:]
        self.ids = prompt
        self.reused_tokens += keep
        self.prompt_tokens += len(prompt)
        return self.cache, logits, keep

    def record(self, sequence: Sequence[int]) -> None:
        """After decoding: the cache holds a prefix of `sequence` (prompt + continuation,
        minus what was never fed or was rolled back); cut it to what both agree on."""
        held = self.cache.get_seq_length() if self.cache is not None else 0
        keep = min(held, len(sequence))
        if self.cache is not None:
            rollback(self.cache, keep)
        self.ids = list(sequence[:keep])

    def forget(self) -> None:
        self.cache, self.ids = None, []

    @property
    def reuse_ratio(self) -> float | None:
        return self.reused_tokens / self.prompt_tokens if self.prompt_tokens else None
