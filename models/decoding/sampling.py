"""Pure helpers for turning logits into the distributions that speculative decoding
compares, and the `Sampler` one request decodes with.

p (target) and q (draft) must go through the same temperature / top-k / top-p transform,
or the acceptance rule no longer reproduces the target's distribution: the draft and the
target of a request share one Sampler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0  # 0 = greedy
    top_k: int = 0            # 0 = off
    top_p: float = 1.0        # 1 = off

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


def _as_numpy(logits) -> np.ndarray | None:
    """Logits as numpy: an array as it is (llama.cpp's, models/decoding/forward.py), a
    float32 CPU tensor's view (no copy), else None. Why: on a small model a step takes 1-2
    ms on llama.cpp, and each torch op on one row of logits costs 10-35 µs of dispatch
    against numpy's 2-3 µs, several of them a round."""
    if isinstance(logits, np.ndarray):
        return logits
    if logits.device.type == "cpu" and logits.dtype == torch.float32:
        return logits.numpy()
    return None


def argmax_rows(logits: torch.Tensor) -> list[int]:
    """Each row's argmax (rows × vocab); the first index on ties, in numpy as in torch."""
    array = _as_numpy(logits)
    return array.argmax(axis=-1).tolist() if array is not None else logits.argmax(dim=-1).tolist()


def argmax(logits: torch.Tensor) -> int:
    """One row's argmax (the first index on ties)."""
    array = _as_numpy(logits)
    return int(array.argmax()) if array is not None else int(logits.argmax())


def all_finite(logits: torch.Tensor) -> bool:
    """Whether every row's max is finite: no NaN (the max propagates it), no +inf, no row
    that is -inf throughout. A single -inf is a legitimate "impossible" logit."""
    array = _as_numpy(logits)
    if array is not None:
        return bool(np.isfinite(array.max(axis=-1)).all()) if array.size else True
    return bool(torch.isfinite(logits.max(dim=-1).values).all()) if logits.numel() else True


def as_tensor(logits) -> torch.Tensor:
    """Logits as a torch tensor (a numpy array's view, no copy), for the sampling maths."""
    return torch.from_numpy(logits) if isinstance(logits, np.ndarray) else logits


def pad_vocab(logits, size: int) -> torch.Tensor:
    """Extend the last dimension to `size` with -inf: ids the draft lacks get probability 0."""
    logits = as_tensor(logits)
    missing = size - logits.shape[-1]
    if missing <= 0:
        return logits
    filler = torch.full((*logits.shape[:-1], missing), float("-inf"), dtype=logits.dtype, device=logits.device)
    return torch.cat([logits, filler], dim=-1)


def mask_ids(logits, banned, rows: int | None = None):
    """Logits (a tensor or an array, returned as the same kind) with the `banned` ids made
    impossible (end ids before `min_new_tokens`, a first token the caller rejected): in
    every row, or in the first `rows` of a rows × vocab block."""
    ids = [i for i in banned if i < logits.shape[-1]]
    if not ids:
        return logits
    logits = logits.copy() if isinstance(logits, np.ndarray) else logits.clone()
    if rows is None:
        logits[..., ids] = float("-inf")
    else:
        logits[:rows, ids] = float("-inf")
    return logits


def to_probs(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """Distribution(s) over the last dimension after temperature, top-k and top-p (float32)."""
    logits = as_tensor(logits).float() / max(params.temperature, 1e-6)
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


@dataclass(frozen=True)
class Sampler:
    """One request's sampling: its parameters and its random stream (None: torch's global
    one). Every draw of the request, draft's and target's, goes through it."""
    params: SamplingParams = SamplingParams()
    generator: torch.Generator | None = None

    @classmethod
    def seeded(cls, params: SamplingParams, seed: int | None, device: torch.device) -> "Sampler":
        """A generator on the device the logits live on (a CUDA sampler refuses a CPU one)."""
        generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        return cls(params, generator)

    @property
    def greedy(self) -> bool:
        return self.params.greedy

    def probs(self, logits: torch.Tensor) -> torch.Tensor:
        return to_probs(logits, self.params)

    def draw(self, probs: torch.Tensor) -> int:
        return sample(probs, self.generator)

    def pick(self, logits: torch.Tensor) -> int:
        """The next token: the argmax when greedy, else a draw from the shaped distribution."""
        return argmax(logits) if self.greedy else self.draw(self.probs(logits))

    def uniform(self, device: torch.device) -> torch.Tensor:
        """u ~ U[0, 1), for an accept/reject decision."""
        return torch.rand((), generator=self.generator, device=device)
