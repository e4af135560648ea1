"""`tandem bench engine`'s model-costs table: what each model of the loaded pair costs on
this machine, and (with --project-7b) what that implies for the full CodeLlama-7B target.

Measured on the pair's device and dtype, medians over repeats:
- a one-token decode step with CONTEXT (512) tokens already in the KV cache, the way the
  engine steps (transformers' DynamicCache, cropped back after every timed step);
- prefill of 256 and 1024 tokens (capped at the model's positions), logits for the last
  token only, as the engine prefills;
- c = draft step / target step; parameters and decoder layers from the loaded models.
The draft's and the target's calls alternate, round after round, so a burst of load from
other processes (a shared machine) falls on both and c stays fair.

The projection builds CodeLlama-7B at its full width with ONE decoder layer (random
weights, tied embeddings so the LM head's matrix is held once) and times its forward the
same way. Hooks on the layer, the final norm and the LM head time each inside the model's
own call, with the model's own RoPE, mask and 512-token KV cache; "rest" is what the call
spends outside them (embedding, RoPE table, mask, Python). Then

    projected 7B = 32 × layer + norm + head + rest

— a projection, not a measured 7B: it assumes the 32 layers cost alike and ignores that
a 7B's weights (27 GB in float32) may not fit the caches or the memory this one layer did.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

CONTEXT = 512               # tokens in the KV cache when a decode step is timed
PREFILLS = (256, 1024)      # prompt lengths whose prefill is timed


@dataclass(frozen=True)
class Repeats:
    step: int = 20
    prefill: int = 3


@dataclass(frozen=True)
class ForwardTimes:
    """Medians (ms) over repeated forward calls of one model: the whole call, and inside it
    one decoder layer (the mean over the model's layers within a call), the final norm and
    the LM head."""
    total: float
    layer: float
    norm: float
    head: float
    layers: int

    @property
    def rest(self) -> float:
        """What the call spends outside its layers, norm and head."""
        return self.total - self.layers * self.layer - self.norm - self.head

    def projected(self, layers: int) -> float:
        """The same model with `layers` decoder layers, each costing this one's."""
        return layers * self.layer + self.norm + self.head + self.rest


@dataclass
class ModelCosts:
    name: str
    parameters: int
    layers: int
    positions: int                 # the model's max positions: caps context and prefills
    context: int                   # tokens in the cache when its step was timed
    step: ForwardTimes
    prefill: dict[int, ForwardTimes] = field(default_factory=dict)  # by tokens prefilled

    def prefill_tokens(self, wanted: int) -> int:
        return min(wanted, self.positions)


@dataclass
class Projection:
    config: dict                   # the full model's config (its real depth)
    one_layer: ModelCosts          # the measured one-layer model at its width

    @property
    def layers(self) -> int:
        return self.config["num_hidden_layers"]

    @property
    def step(self) -> float:
        return self.one_layer.step.projected(self.layers)

    def prefill(self, tokens: int) -> float:
        return self.one_layer.prefill[tokens].projected(self.layers)


class _HookTimer:
    """perf_counter stamps around the forward of the layers, the final norm and the LM head,
    so one model call yields each part's time inside the model's own forward."""

    def __init__(self, model: torch.nn.Module, clock: Callable[[], float], synchronize: Callable[[], None]):
        self.clock, self.synchronize = clock, synchronize
        self.spent: dict[str, float] = {}
        self._started: dict[int, float] = {}
        self._handles = []
        for part, module in _parts(model):
            self._handles.append(module.register_forward_pre_hook(self._start))
            self._handles.append(module.register_forward_hook(self._stop(part)))

    def _start(self, module, args) -> None:
        self.synchronize()
        self._started[id(module)] = self.clock()

    def _stop(self, part: str):
        def stop(module, args, output) -> None:
            self.synchronize()
            self.spent[part] = self.spent.get(part, 0.0) + self.clock() - self._started.pop(id(module))
        return stop

    def reset(self) -> None:
        self.spent = {}

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def _decoder_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The decoder layers of a LLaMA-style model (`model.model.layers`); none found for
    another layout, whose rows then show the whole step only."""
    return list(getattr(getattr(model, "model", None), "layers", None) or [])


def _parts(model: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    norm = getattr(getattr(model, "model", None), "norm", None)
    head = model.get_output_embeddings()
    return ([("layer", layer) for layer in _decoder_layers(model)]
            + [(part, module) for part, module in (("norm", norm), ("head", head)) if module is not None])


def _synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


class _TimedCalls:
    """Repeated calls of one model, each timed whole and in its parts (ms)."""

    def __init__(self, model: torch.nn.Module, call: Callable[[], object], clock: Callable[[], float]):
        self.call, self.clock = call, clock
        self.synchronize = _synchronizer(next(model.parameters()).device)
        self.layers = len(_decoder_layers(model))
        self.timer = _HookTimer(model, clock, self.synchronize)
        self.samples: dict[str, list[float]] = {"total": [], "layer": [], "norm": [], "head": []}

    def sample(self) -> None:
        self.timer.reset()
        self.synchronize()
        started = self.clock()
        self.call()
        self.synchronize()
        spent = self.timer.spent
        self.samples["total"].append(self.clock() - started)
        self.samples["layer"].append(spent.get("layer", 0.0) / max(1, self.layers))
        self.samples["norm"].append(spent.get("norm", 0.0))
        self.samples["head"].append(spent.get("head", 0.0))

    def medians(self) -> ForwardTimes:
        ms = {part: statistics.median(values) * 1000 for part, values in self.samples.items()}
        return ForwardTimes(ms["total"], ms["layer"], ms["norm"], ms["head"], self.layers)


def time_interleaved(calls: list[tuple[torch.nn.Module, Callable[[], object]]], repeats: int,
                     clock: Callable[[], float] = time.perf_counter) -> list[ForwardTimes]:
    """Medians over `repeats` rounds of each (model, call), in ms. One warm-up call each
    first (kernel choice, allocator growth); then every round calls each once, so a burst of
    load from other processes on a shared machine hits every model alike, and c, a ratio,
    stays fair."""
    timed = [_TimedCalls(model, call, clock) for model, call in calls]
    try:
        for one in timed:
            one.call()
        for _ in range(repeats):
            for one in timed:
                one.sample()
    finally:
        for one in timed:
            one.timer.remove()
    return [one.medians() for one in timed]


def time_forward(model: torch.nn.Module, call: Callable[[], object], repeats: int,
                 clock: Callable[[], float] = time.perf_counter) -> ForwardTimes:
    """Medians over `repeats` calls (after a warm-up call) of the whole call and its parts, in ms."""
    return time_interleaved([(model, call)], repeats, clock)[0]


def _token_ids(model: torch.nn.Module, count: int, seed: int = 0) -> torch.Tensor:
    """Random ids (the costs do not depend on which), on the model's device."""
    vocab = model.get_input_embeddings().num_embeddings
    ids = torch.randint(0, vocab, (1, count), generator=torch.Generator().manual_seed(seed))
    return ids.to(next(model.parameters()).device)


def _new_cache(model: torch.nn.Module):
    from transformers import DynamicCache
    return DynamicCache(config=model.config)


def _step_call(model: torch.nn.Module, context: int) -> Callable[[], None]:
    """One-token decode steps, each on the same `context`-token KV cache."""
    cache = _new_cache(model)
    model(input_ids=_token_ids(model, context), cache=cache, use_cache=True, logits_to_keep=1)
    token = _token_ids(model, 1, seed=1)

    def step():
        model(input_ids=token, cache=cache, use_cache=True)
        cache.crop(-1)  # back to `context` tokens, so every timed step sees the same cache
    return step


def _prefill_call(model: torch.nn.Module, tokens: int) -> Callable[[], None]:
    """A prompt of `tokens` into an empty cache, logits for its last token only (as the engine prefills)."""
    ids = _token_ids(model, tokens, seed=2)
    return lambda: model(input_ids=ids, cache=_new_cache(model), use_cache=True, logits_to_keep=1)


@torch.inference_mode()
def measure_models(models: list[tuple[str, torch.nn.Module]], repeats: Repeats = Repeats(),
                   context: int = CONTEXT, prefills: tuple[int, ...] = PREFILLS,
                   clock: Callable[[], float] = time.perf_counter) -> list[ModelCosts]:
    """Each model's step and prefill costs, the models' calls interleaved: the step after a
    `context`-token prefill (capped below the model's positions), each prefill capped at
    its positions."""
    contexts = [min(context, model.config.max_position_embeddings - 1) for _, model in models]
    steps = time_interleaved([(model, _step_call(model, n)) for (_, model), n in zip(models, contexts)],
                             repeats.step, clock)
    costs = [ModelCosts(name, sum(p.numel() for p in model.parameters()), model.config.num_hidden_layers,
                        model.config.max_position_embeddings, n, step)
             for (name, model), n, step in zip(models, contexts, steps)]
    for wanted in prefills:
        due = [(model, c) for (_, model), c in zip(models, costs) if c.prefill_tokens(wanted) not in c.prefill]
        times = time_interleaved([(model, _prefill_call(model, c.prefill_tokens(wanted))) for model, c in due],
                                 repeats.prefill, clock)
        for (_, c), measured in zip(due, times):
            c.prefill[c.prefill_tokens(wanted)] = measured
    return costs


def measure_model(name: str, model: torch.nn.Module, repeats: Repeats = Repeats(), context: int = CONTEXT,
                  prefills: tuple[int, ...] = PREFILLS, clock: Callable[[], float] = time.perf_counter) -> ModelCosts:
    return measure_models([(name, model)], repeats, context, prefills, clock)[0]


def one_layer_model(config: dict, dtype: torch.dtype, device: torch.device, seed: int = 0):
    """`config`'s model with a single decoder layer: random weights (normal draws, never
    uninitialised memory, whose denormals would slow a CPU), tied embeddings."""
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(
            LlamaConfig(**{**config, "num_hidden_layers": 1, "tie_word_embeddings": True}), dtype=dtype)
    return model.eval()


def project(config: dict, dtype: torch.dtype, device: torch.device, repeats: Repeats = Repeats(5, 2),
            prefills: tuple[int, ...] = PREFILLS) -> Projection:
    """Time a one-layer model at `config`'s width and project its full depth; the layer
    (~0.8 GB at 7B's width in float32, plus the shared head) is freed before returning."""
    model = one_layer_model(config, dtype, device)
    try:
        measured = measure_model("one layer", model, repeats, prefills=prefills)
    finally:
        del model
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return Projection(config, measured)


def _millions(count: int) -> str:
    return f"{count / 1e9:.2f}B" if count >= 1e9 else f"{count / 1e6:.1f}M"


def _prefill_cell(costs: ModelCosts, wanted: int) -> str:
    tokens = costs.prefill_tokens(wanted)
    times = costs.prefill.get(tokens)
    if times is None:
        return "–"
    capped = "" if tokens == wanted else f" @{tokens}"
    return f"{times.total:.0f} ({times.total / tokens:.2f}/tok){capped}"


def format_costs(draft: ModelCosts, target: ModelCosts, prefills: tuple[int, ...] = PREFILLS) -> str:
    """The pair's measured costs, one row per model, and c."""
    prefill_heads = [f"prefill {n} ms (/tok)" for n in prefills]
    header = (f"{'model':<8} {'params':>8} {'layers':>6} {'step ms':>8} {'layer ms':>8} "
              + " ".join(f"{h:>24}" for h in prefill_heads))
    lines = [header, "-" * len(header)]
    for costs in (draft, target):
        cells = " ".join(f"{_prefill_cell(costs, n):>24}" for n in prefills)
        lines.append(f"{costs.name:<8} {_millions(costs.parameters):>8} {costs.layers:>6} "
                     f"{costs.step.total:>8.2f} {costs.step.layer:>8.3f} {cells}")
    c = draft.step.total / target.step.total
    lines.append(f"c = draft step / target step = {draft.step.total:.2f} / {target.step.total:.2f} = {c:.3f}")
    return "\n".join(lines)


def format_projection(projection: Projection, draft: ModelCosts, prefills: tuple[int, ...] = PREFILLS) -> str:
    """The projected full-depth target: its parts, the formula with this run's numbers, and
    the draft's c against it."""
    one, n = projection.one_layer, projection.layers
    config = projection.config
    shown = [one.prefill_tokens(p) for p in prefills]
    shown = [t for i, t in enumerate(shown) if t in one.prefill and t not in shown[:i]]
    header = f"{'part':<44} {'step ms':>9} " + " ".join(f"{f'prefill {t} ms':>16}" for t in shown)
    parts = [("one decoder layer", lambda t: t.layer), ("final norm", lambda t: t.norm),
             (f"LM head ({config['vocab_size']}×{config['hidden_size']})", lambda t: t.head),
             ("rest (embedding, RoPE, mask, Python)", lambda t: t.rest),
             (f"projected = {n} × layer + norm + head + rest", lambda t: t.projected(n))]
    lines = [f"projection (not a measured 7B): CodeLlama-7B from one decoder layer at its width "
             f"(hidden {config['hidden_size']}, FFN {config['intermediate_size']}, "
             f"{config['num_attention_heads']} heads, random weights), timed inside a one-layer model "
             f"with {one.context} tokens in its KV cache", header, "-" * len(header)]
    for name, value in parts:
        cells = " ".join(f"{value(one.prefill[t]):>16.1f}" for t in shown)
        lines.append(f"{name:<44} {value(one.step):>9.2f} {cells}")
    step = one.step
    lines.append(f"projected step = {n} × {step.layer:.2f} + {step.norm:.2f} + {step.head:.2f} + {step.rest:.2f} "
                 f"= {projection.step:.1f} ms ({1000 / projection.step:.2f} tokens/s)")
    if shown:
        lines.append("projected prefill = " + ", ".join(
            f"{t} tokens {projection.prefill(t) / 1000:.1f} s ({projection.prefill(t) / t:.1f} ms/token)"
            for t in shown))
    lines.append(f"c of the {draft.name} against the projected 7B = {draft.step.total:.2f} / {projection.step:.1f} "
                 f"= {draft.step.total / projection.step:.4f}")
    return "\n".join(lines)


def _threads() -> str:
    count = torch.get_num_threads()
    return f"{count} thread" + ("s" if count != 1 else "")


def main(pair, project_7b: bool = False, log: Callable[[str], None] = print) -> int:
    """Measure the pair (and with `project_7b` the projection) and print the tables."""
    from bench.gpu import CODELLAMA_7B

    placement = pair.target.placement
    dtype = str(placement.dtype).removeprefix("torch.")
    draft, target = measure_models([("draft", pair.draft.model), ("target", pair.target.model)])
    print()
    print(f"model costs on this machine ({placement.device}/{dtype}, {_threads()}; "
          f"medians; step = one token with {draft.context} tokens in the KV cache; layer = one decoder layer "
          f"inside that step)")
    print(format_costs(draft, target))
    if project_7b:
        log(f"building CodeLlama-7B's width with one layer ({dtype}) for the projection …")
        print()
        print(format_projection(project(CODELLAMA_7B, placement.dtype, placement.device), draft))
    return 0
