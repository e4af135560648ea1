"""Pure helpers for turning logits into the distributions that speculative decoding compares.

p (target) and q (draft) must go through the same temperature / top-k / top-p transform,
or the acceptance rule no longer reproduces the target's distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0  # 0 = greedy
    top_k: int = 0            # 0 = off
    top_p: float = 1.0        # 1 = off

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


def pad_vocab(logits: torch.Tensor, size: int) -> torch.Tensor:
    """Extend the last dimension to `size` with -inf: ids the draft lacks get probability 0."""
    missing = size - logits.shape[-1]
    if missing <= 0:
        return logits
    filler = torch.full((*logits.shape[:-1], missing), float("-inf"), dtype=logits.dtype, device=logits.device)
    return torch.cat([logits, filler], dim=-1)


def mask_ends(logits: torch.Tensor, end_ids) -> torch.Tensor:
    """Logits with the end ids made impossible (for positions before `min_new_tokens`)."""
    ids = [i for i in end_ids if i < logits.shape[-1]]
    if not ids:
        return logits
    logits = logits.clone()
    logits[..., ids] = float("-inf")
    return logits


def to_probs(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """Distribution(s) over the last dimension after temperature, top-k and top-p (float32)."""
    logits = logits.float() / max(params.temperature, 1e-6)
    if params.top_k > 0 and params.top_k < logits.shape[-1]:
        kth = torch.topk(logits, params.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        sorted_probs = torch.softmax(sorted_logits, dim=-1)
        # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
        drop = sorted_probs.cumsum(dim=-1) - sorted_probs >= params.top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return torch.softmax(logits, dim=-1)


def sample(probs: torch.Tensor, generator: torch.Generator | None) -> int:
    return int(torch.multinomial(probs, 1, generator=generator))


def residual(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """norm(max(0, p − q)): where to resample after a rejection (Leviathan et al. 2023, alg. 1)."""
    diff = torch.clamp(p - q, min=0.0)
    total = diff.sum()
    return diff / total if total > 0 else p
