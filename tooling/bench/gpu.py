"""`tandem bench gpu`: what a draft step and a verify pass cost on this GPU, with the real
shapes of AMD-Llama-135M and CodeLlama-7B (random weights: no download, and step costs do
not depend on the weights' values).

Measured, medians of repeated CUDA-synchronised calls at a 512-token context:
- target: one-token step (transformers' DynamicCache, and the static cache) and the
  (k+1)-token verify pass for k = 1..MAX_DRAFT_TOKENS (8), as a ratio v(k) to the static one-token step;
- draft: one-token step eager (transformers), static, and inside the captured k-step loop
  (CUDA graphs: (t(k_max) − t(1)) / (k_max − 1) per step);
- c = draft step / target step, and the projected lossless speedup at AMD's measured
  acceptance, E(α,k) / (v(k) + k·c) (and the textbook E / (1 + k·c)), next to AMD's
  published 2.80× (MI250, fp32) and 1.75× (MI250, bf16);
- an oracle: the target drafting for itself (acceptance ≈ 1), whose measured speedup over
  the target alone, divided by its projection, is the engine's own efficiency.

Sized for a short lease: one command, about two minutes on an H100, no downloads.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM

from models.config import MAX_DRAFT_TOKENS
from models.decoding.adaptive import FixedDraftLength, expected_tokens
from models.decoding.generation import Stops
from models.decoding.proposers import DraftModelProposer
from models.decoding.speculative import speculative_generate
from models.engines.graphed_draft import GraphedDraft
from models.engines.static_llama import StaticLlama

AMD_LLAMA_135M = {"vocab_size": 32000, "hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 12,
                  "num_attention_heads": 12, "num_key_value_heads": 12, "max_position_embeddings": 2048,
                  "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}}
CODELLAMA_7B = {"vocab_size": 32016, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 16384,
                "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}}
AMD_ALPHA = 0.66  # acceptance in AMD's MI250 runs
AMD_SPEEDUPS = "AMD published: 2.80× (MI250, fp32), 1.75× (MI250, bf16)"
KS = range(1, MAX_DRAFT_TOKENS + 1)


@dataclass(frozen=True)
class Shapes:
    draft: dict
    target: dict
    context: int = 512     # tokens already in the caches when steps are timed
    repeats: int = 30
    oracle_tokens: int = 128
    static_window: int = 1024


REAL = Shapes(AMD_LLAMA_135M, CODELLAMA_7B)


def build(config: dict, dtype: torch.dtype, device: torch.device, seed: int) -> LlamaForCausalLM:
    """Random weights created on the device (a 7B model never passes through host memory)."""
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(LlamaConfig(**config), dtype=dtype)
    return model.eval()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_ms(call: Callable[[], object], device: torch.device, repeats: int) -> float:
    call()  # warm-up: kernel choice, allocator growth
    times = []
    for _ in range(repeats):
        _sync(device)
        started = time.perf_counter()
        call()
        _sync(device)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@dataclass
class Costs:
    target_step_eager: float
    target_step: float
    verify: dict[int, float]       # k → ms of a (k+1)-token verify pass (static)
    draft_step_eager: float
    draft_step_static: float
    draft_step_graphed: float
    oracle_speedup: float
    oracle_alpha: float
    oracle_c: float                # the target's own graphed step / its static step
    oracle_k: int = 4

    def v(self, k: int) -> float:
        return self.verify[k] / self.target_step

    @property
    def c(self) -> float:
        return self.draft_step_graphed / self.target_step

    @property
    def c_eager(self) -> float:
        return self.draft_step_eager / self.target_step_eager


@torch.inference_mode()
def _eager_step_ms(model, context_ids: torch.Tensor, device, repeats: int) -> float:
    cache = DynamicCache(config=model.config)
    model(input_ids=context_ids, cache=cache)
    token = context_ids[:, -1:]

    def step():
        model(input_ids=token, cache=cache)
        cache.crop(-1)
    return median_ms(step, device, repeats)


@torch.inference_mode()
def _static_ms(static: StaticLlama, context_ids: torch.Tensor, tokens: int, device, repeats: int) -> float:
    cache = static.new_cache()
    static(input_ids=context_ids, cache=cache)
    length, fed = cache.length, context_ids[:, -tokens:]

    def forward():
        static(input_ids=fed, cache=cache, logits_to_keep=tokens)
        cache.length = length
    return median_ms(forward, device, repeats)


@torch.inference_mode()
def _graphed_step_ms(static: StaticLlama, context_ids: torch.Tensor, device, repeats: int) -> float:
    graphed = GraphedDraft(static)
    cache = static.new_cache()
    logits = static(input_ids=context_ids, cache=cache, logits_to_keep=1).logits[0, -1]
    length = cache.length

    def loop(k: int) -> Callable[[], None]:
        def run():
            graphed.run(logits, k)
            cache.length = length
        return run
    longest = MAX_DRAFT_TOKENS
    return (median_ms(loop(longest), device, repeats) - median_ms(loop(1), device, repeats)) / (longest - 1)


@torch.inference_mode()
def _oracle(target: LlamaForCausalLM, shapes: Shapes, device, k: int) -> tuple[float, float]:
    """The target drafting for itself (greedy, so the draft is the target's own choice
    except where the one-token and verify kernels round differently): (speedup over the
    target alone, acceptance)."""
    verifier = StaticLlama(target, shapes.static_window)
    drafter = StaticLlama(target, shapes.static_window)  # same weights, its own KV buffers
    drafter.graphed = GraphedDraft(drafter)
    prompt = torch.randint(0, shapes.target["vocab_size"] - 16, (shapes.context,), generator=torch.Generator()
                           .manual_seed(1)).tolist()
    vocab = shapes.target["vocab_size"]

    def run(draft_tokens: int):
        proposer = DraftModelProposer(drafter, prompt, vocab)
        _sync(device)
        started = time.perf_counter()
        out = speculative_generate(verifier, prompt, proposer, FixedDraftLength(draft_tokens),
                                   Stops(shapes.oracle_tokens), lambda ids: "")
        _sync(device)
        return time.perf_counter() - started, out

    run(0), run(k)  # warm-up, graph capture
    alone = statistics.median(run(0)[0] for _ in range(3))
    results = [run(k) for _ in range(3)]
    stats = results[-1][1].stats
    return alone / statistics.median(seconds for seconds, _ in results), stats.acceptance or 0.0


def measure(device: torch.device, dtype: torch.dtype, shapes: Shapes = REAL, log=print) -> Costs:
    context = torch.randint(0, 32000, (1, shapes.context), device=device, generator=None)
    context = context % min(shapes.draft["vocab_size"], shapes.target["vocab_size"])
    log("building the target (random weights) …")
    target = build(shapes.target, dtype, device, seed=0)
    static_target = StaticLlama(target, shapes.static_window)
    log("timing target steps and verify passes …")
    target_step_eager = _eager_step_ms(target, context, device, shapes.repeats)
    target_step = _static_ms(static_target, context, 1, device, shapes.repeats)
    verify = {k: _static_ms(static_target, context, k + 1, device, shapes.repeats) for k in KS}
    del static_target
    log("oracle: the target drafting for itself …")
    oracle_speedup, oracle_alpha = _oracle(target, shapes, device, k=4)
    oracle_step = _graphed_step_ms(StaticLlama(target, shapes.static_window), context, device, shapes.repeats)
    del target
    if device.type == "cuda":
        torch.cuda.empty_cache()
    log("building the draft and timing its steps …")
    draft = build(shapes.draft, dtype, device, seed=1)
    static_draft = StaticLlama(draft, shapes.static_window)
    return Costs(target_step_eager, target_step, verify,
                 _eager_step_ms(draft, context, device, shapes.repeats),
                 _static_ms(static_draft, context, 1, device, shapes.repeats),
                 _graphed_step_ms(static_draft, context, device, shapes.repeats),
                 oracle_speedup, oracle_alpha, oracle_step / target_step)


def report(costs: Costs, device_name: str, dtype: torch.dtype, alpha: float = AMD_ALPHA,
           shapes: str = "random weights with the real shapes") -> str:
    lines = [f"device: {device_name}, {str(dtype).removeprefix('torch.')}, {shapes}",
             "",
             f"target step  eager {costs.target_step_eager:7.3f} ms   static {costs.target_step:7.3f} ms",
             f"draft step   eager {costs.draft_step_eager:7.3f} ms   static {costs.draft_step_static:7.3f} ms   "
             f"graphed {costs.draft_step_graphed:7.3f} ms",
             f"c = draft/target step: graphed/static {costs.c:.3f} (target ≤ 0.05), eager/eager {costs.c_eager:.3f}",
             f"verify(6)/step {costs.v(6):.3f} (target ≤ 1.15)",
             "",
             f"projected lossless speedup at α = {alpha} ({AMD_SPEEDUPS})",
             f"{'k':>2} {'verify ms':>10} {'v(k)':>6} {'E(α,k)':>7} {'E/(v+k·c)':>10} {'E/(1+k·c)':>10}"]
    for k in KS:
        e = expected_tokens(alpha, k)
        lines.append(f"{k:>2} {costs.verify[k]:>10.3f} {costs.v(k):>6.3f} {e:>7.3f} "
                     f"{e / (costs.v(k) + k * costs.c):>9.2f}× {e / (1 + k * costs.c):>9.2f}×")
    k = costs.oracle_k
    projected = expected_tokens(costs.oracle_alpha, k) / (costs.v(k) + k * costs.oracle_c)
    lines += ["", f"oracle (the target drafts for itself, k={k}): acceptance {costs.oracle_alpha:.3f}, "
                  f"c {costs.oracle_c:.3f}, measured {costs.oracle_speedup:.2f}× the target alone, projected "
                  f"{projected:.2f}× → engine efficiency {costs.oracle_speedup / projected:.2f}"]
    return "\n".join(lines)


def main(dtype_name: str = "bfloat16") -> int:
    if not torch.cuda.is_available():
        print(f"tandem bench gpu: needs a CUDA or ROCm GPU, and torch {torch.__version__} sees none "
              f"(CUDA {torch.version.cuda}, ROCm {torch.version.hip}); run it on a GPU machine", file=sys.stderr)
        return 2
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[dtype_name]
    device = torch.device("cuda:0")
    costs = measure(device, dtype, log=lambda text: print(text, file=sys.stderr))
    print(report(costs, torch.cuda.get_device_name(device), dtype))
    return 0
