"""`tandem bench engine --engines …llamacpp… --project-7b`: CodeLlama-7B on the llama.cpp
engine, projected from models of its full width with 1 and 2 decoder layers, and what
Tandem's speculative decoding would gain there with an AMD-Llama-135M-shaped draft.

Why a projection: the 14M embedded target is so small that a llama.cpp step is 2 ms and
compute-bound, so a verify pass of n tokens costs nearly n steps and drafting rarely pays;
a 7B step reads gigabytes of weights, and a pass of n tokens reads them once. What decides
the speedup is v(n) = verify pass of n tokens / one-token step and c = draft step / target
step at the real shapes, on this CPU. Both are measured here on random weights (the real
pair's shapes; the stand-ins of tooling/standins), in the same llama.cpp contexts Tandem
uses, with CONTEXT tokens already in the KV cache:

    time(n) at 32 layers = time_1(n) + 31 × (time_2(n) − time_1(n))

(time_L: the model with L layers; their difference is one layer, in the model's own
call). The peer is llama.cpp's plain decode as llama-cpp-python loads it, with its
repacked weight layouts for every type (Tandem repacks q8_0 only, where a batch computes
bit for bit what one-token steps do), projected the same way from its one-token step.

Random weights make no predictions worth accepting, so acceptance α is not measured here:
the table gives the best k and the speedup at α from 0.5 up to AMD's published 0.66-0.74
for this pair, speedup = max over k of E(α, k) / (v(k+1) + k·c), E = (1 − α^(k+1)) / (1 − α).
It is a projection, not a measured 7B: it assumes the 32 layers cost alike and leaves out
Tandem's per-round Python (about 0.1-0.3 ms, measured on the embedded pair).
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from models.config import MAX_DRAFT_TOKENS
from models.decoding.adaptive import expected_tokens

CONTEXT = 512
LAYERS = 32  # CodeLlama-7B's depth
ALPHAS = (0.5, 0.6, 0.66, 0.74)
SIZES = tuple(range(1, MAX_DRAFT_TOKENS + 2))  # verify passes of 1 .. k_max + 1 tokens


@dataclass
class Timings:
    """Medians (ms) of a pass of n tokens, by n, after CONTEXT cached tokens."""
    passes: dict[int, float]

    def ratio(self, n: int) -> float:
        return self.passes[n] / self.passes[1]


def _load(directory, weights: str, extra_buffers: bool | None = None):
    """`extra_buffers`: None = Tandem's engine (repacked only where exact), True = as llama.cpp ships."""
    from transformers import AutoConfig

    from models.engines.gguf_export import write_gguf
    from models.engines.llamacpp_backend import LlamaCppCausalLM
    config = AutoConfig.from_pretrained(directory, local_files_only=True)
    parameters = _parameters(config)
    gguf = write_gguf(directory, config, weights, parameters)
    return LlamaCppCausalLM(gguf, config, parameters, CONTEXT + 2 * MAX_DRAFT_TOKENS, torch.get_num_threads(),
                            weights, extra_buffers=extra_buffers)


def _parameters(config) -> int:
    hidden, ffn, vocab = config.hidden_size, config.intermediate_size, config.vocab_size
    return 2 * vocab * hidden + config.num_hidden_layers * (4 * hidden * hidden + 3 * hidden * ffn)


def _time_passes(models: list, sizes: list[tuple[int, ...]], repeats: int, seed: int = 0) -> list[Timings]:
    """Each model prefilled with CONTEXT random ids, then passes of each of its `sizes`,
    models and sizes interleaved round after round (load bursts hit all alike), cropped
    back each time."""
    generator = np.random.default_rng(seed)
    caches, times = [], [{n: [] for n in own} for own in sizes]
    for model in models:
        cache = model.new_cache()
        ids = generator.integers(3, model.vocab_size, CONTEXT)
        model(input_ids=torch.tensor([ids.tolist()]), cache=cache, logits_to_keep=1)
        caches.append(cache)
    for _ in range(repeats):
        for model, cache, own, timed in zip(models, caches, sizes, times):
            for n in own:
                inputs = torch.tensor([generator.integers(3, model.vocab_size, n).tolist()])
                started = time.perf_counter()
                model(input_ids=inputs, cache=cache)
                timed[n].append(1000 * (time.perf_counter() - started))
                cache.crop(CONTEXT)
    return [Timings({n: statistics.median(values) for n, values in timed.items()}) for timed in times]


def _projected(one: Timings, two: Timings, layers: int = LAYERS) -> Timings:
    return Timings({n: one.passes[n] + (layers - 1) * (two.passes[n] - one.passes[n]) for n in one.passes})


@dataclass
class Projection:
    weights: str
    target: Timings      # Tandem's llama.cpp engine, projected to 32 layers
    peer_step: float     # llama.cpp's own loading (repacked), one-token step, projected
    draft_weights: str
    draft_step: float    # the 135M-shaped draft's one-token step, measured

    @property
    def c(self) -> float:
        return self.draft_step / self.target.passes[1]

    def best(self, alpha: float) -> tuple[int, float]:
        """(k, speedup over this engine's own greedy) maximising E / (v(k+1) + k·c)."""
        rates = {k: expected_tokens(alpha, k) / (self.target.ratio(k + 1) + k * self.c) if k else 1.0
                 for k in range(MAX_DRAFT_TOKENS + 1)}
        k = max(rates, key=rates.get)
        return k, rates[k]


def measure(weights: str, draft_weights: str, repeats: int, log) -> Projection:
    from standins.build import build_standins, default_root
    roots = [build_standins(default_root("wide", layers), "wide", layers) for layers in (1, 2)]
    log(f"projection: 7B-width models of 1 and 2 layers at {weights}, the 135M-shaped draft at {draft_weights} …")
    models = [_load(root.target, weights) for root in roots]
    peers = [_load(root.target, weights, extra_buffers=True) for root in roots]
    draft = _load(roots[0].draft, draft_weights)
    try:
        # Every model in one loop: the peer's and the draft's one-token step beside each of
        # the target's pass sizes, so drift falls on all of them alike.
        one, two, peer_one, peer_two, drafted = _time_passes(
            [*models, *peers, draft], [SIZES, SIZES, (1,), (1,), (1,)], repeats)
    finally:
        for model in (*models, *peers, draft):
            model.close()
        gc.collect()
    peer = _projected(peer_one, peer_two)
    return Projection(weights, _projected(one, two), peer.passes[1], draft_weights, drafted.passes[1])


def format_projection(projection: Projection) -> str:
    target = projection.target
    lines = [f"projection (not a measured 7B): CodeLlama-7B on llama.cpp, {projection.weights} weights, "
             f"{torch.get_num_threads()} threads, {CONTEXT} tokens cached; from 7B-width models of 1 and 2 layers "
             f"(random weights): time = time_1 + {LAYERS - 1} × (time_2 − time_1)",
             "verify pass of n tokens: " + "  ".join(f"{n}: {target.passes[n]:.0f} ms" for n in SIZES),
             "v(n) = pass / one-token step: " + "  ".join(f"{n}: {target.ratio(n):.2f}" for n in SIZES),
             f"target step {target.passes[1]:.0f} ms ({1000 / target.passes[1]:.2f} tok/s); llama.cpp's own "
             f"(repacked) step {projection.peer_step:.0f} ms ({1000 / projection.peer_step:.2f} tok/s)",
             f"draft (AMD-Llama-135M shape, {projection.draft_weights}) step {projection.draft_step:.2f} ms; "
             f"c = {projection.draft_step:.2f} / {target.passes[1]:.0f} = {projection.c:.4f}"]
    header = f"{'α':>5} {'best k':>6} {'E':>5} {'speedup':>8} {'vs peer':>8}"
    lines += [header, "-" * len(header)]
    for alpha in ALPHAS:
        k, speedup = projection.best(alpha)
        versus = speedup * projection.peer_step / target.passes[1]
        lines.append(f"{alpha:>5.2f} {k:>6} {expected_tokens(alpha, k):>5.2f} {speedup:>7.2f}× {versus:>7.2f}×")
    lines.append("speedup = E / (v(k+1) + k·c) over this engine's greedy; vs peer = the same tokens/s against "
                 "llama.cpp's own plain decode (AMD's published α for this pair: 0.66-0.74)")
    return "\n".join(lines)
