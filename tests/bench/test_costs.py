"""The model-costs table of `tandem bench engine`: medians of what each part of a forward
spent (a fake clock that the models' own modules advance), c as the ratio of the measured
step medians, and the 7B projection's arithmetic. Tiny random LLaMAs, never the stand-ins."""

from __future__ import annotations

import argparse

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

import bench.command as command
from bench import costs
from bench.costs import ForwardTimes, ModelCosts, Projection, format_costs, format_projection

TINY = {"vocab_size": 200, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 300,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}}


def tiny(**changes) -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(**{**TINY, **changes})).eval()


class FakeClock:
    """Seconds that pass only when a patched module says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def charge(clock: FakeClock, module: torch.nn.Module, seconds) -> None:
    """Make each forward of `module` take `seconds` (a number, or a list consumed call by call)."""
    original = module.forward
    queue = list(seconds) if isinstance(seconds, list) else None

    def forward(*args, **kwargs):
        clock.now += queue.pop(0) if queue is not None else seconds
        return original(*args, **kwargs)
    module.forward = forward


def test_parts_are_timed_inside_the_forward_and_the_warm_up_is_left_out():
    model, clock = tiny(), FakeClock()
    # Warm-up call: 1 s per layer (must not count); then 10, 30, 20 ms per layer: median 20.
    for layer in model.model.layers:
        charge(clock, layer, [1.0, 0.010, 0.030, 0.020])
    charge(clock, model.model.norm, 0.001)
    charge(clock, model.lm_head, 0.005)
    ids = torch.tensor([[1, 2, 3]])

    def call():
        clock.now += 0.002  # outside the layers, norm and head: "rest"
        model(input_ids=ids)

    times = costs.time_forward(model, call, repeats=3, clock=clock)
    assert times.layers == 2
    assert times.layer == pytest.approx(20.0)
    assert (times.norm, times.head) == (pytest.approx(1.0), pytest.approx(5.0))
    assert times.total == pytest.approx(2 * 20 + 1 + 5 + 2)  # the call whose layers took 20 ms
    assert times.rest == pytest.approx(2.0)
    assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())


def test_c_is_the_ratio_of_the_measured_step_medians():
    clock = FakeClock()
    draft, target = tiny(), tiny(hidden_size=64, num_hidden_layers=3)
    for model, layer_seconds in ((draft, 0.001), (target, 0.004)):
        for layer in model.model.layers:
            charge(clock, layer, layer_seconds)
    measured = costs.measure_models([("draft", draft), ("target", target)], costs.Repeats(3, 1), context=40,
                                    prefills=(16, 1024), clock=clock)
    assert [m.step.total for m in measured] == [pytest.approx(2.0), pytest.approx(12.0)]
    table = format_costs(*measured, prefills=(16, 1024))
    header, rule, draft_row, target_row, c_line = table.splitlines()
    for column in ("params", "layers", "step ms", "layer ms", "prefill 16 ms (/tok)", "prefill 1024 ms (/tok)"):
        assert column in header
    params = sum(p.numel() for p in target.parameters())
    assert target_row.split()[:5] == ["target", f"{params / 1e6:.1f}M", "3", "12.00", "4.000"]
    assert draft_row.split()[:5] == ["draft", f"{sum(p.numel() for p in draft.parameters()) / 1e6:.1f}M", "2",
                                     "2.00", "1.000"]
    # Prefill: 3 layers × 4 ms = 12 ms, 0.75 ms a token of 16; 1024 is capped at the 300 positions.
    assert "12 (0.75/tok)" in target_row and "12 (0.04/tok) @300" in target_row
    assert c_line == "c = draft step / target step = 2.00 / 12.00 = 0.167"


def test_models_are_called_in_turn_so_load_bursts_hit_both():
    draft, target, order = tiny(), tiny(), []
    calls = [(draft, lambda: order.append("draft")), (target, lambda: order.append("target"))]
    times = costs.time_interleaved(calls, repeats=3)
    assert order == ["draft", "target"] * 4  # a warm-up round, then 3 timed rounds
    assert [t.layers for t in times] == [2, 2]


@torch.inference_mode()
def test_every_timed_step_sees_the_same_kv_cache_length():
    model, lengths = tiny(), []
    model.register_forward_pre_hook(lambda module, args, kwargs: lengths.append(
        (kwargs["input_ids"].shape[1], kwargs["cache"].get_seq_length())), with_kwargs=True)
    measured = costs.measure_model("draft", model, costs.Repeats(4, 1), context=1000, prefills=(8,))
    assert measured.context == 299  # capped below the model's 300 positions
    steps = [cached for fed, cached in lengths if fed == 1]
    assert steps == [299] * 5  # warm-up and 4 timed steps, each with the prefilled cache only
    assert set(measured.prefill) == {8} and measured.prefill[8].total > 0


def test_projection_is_layers_times_layer_plus_norm_head_and_rest():
    one = ForwardTimes(total=60.0, layer=40.0, norm=1.0, head=15.0, layers=1)  # rest 4
    prefill = ForwardTimes(total=520.0, layer=500.0, norm=2.0, head=15.0, layers=1)  # rest 3
    config = {**TINY, "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 11008,
              "num_attention_heads": 32, "vocab_size": 32016}
    projection = Projection(config, ModelCosts("one layer", 0, 1, 16384, 512, one, {256: prefill}))
    assert projection.step == 32 * 40 + 1 + 15 + 4 == 1300
    assert projection.prefill(256) == 32 * 500 + 2 + 15 + 3
    draft = ModelCosts("draft", 0, 12, 2048, 512, ForwardTimes(13.0, 1.0, 0.1, 0.9, 12))
    text = format_projection(projection, draft, prefills=(256,))
    assert text.startswith("projection (not a measured 7B)")
    assert "projected step = 32 × 40.00 + 1.00 + 15.00 + 4.00 = 1300.0 ms" in text
    assert "projected prefill = 256 tokens 16.0 s (62.6 ms/token)" in text
    assert "c of the draft against the projected 7B = 13.00 / 1300.0 = 0.0100" in text
    row = next(line for line in text.splitlines() if line.startswith("projected = 32 × layer"))
    assert row.split()[-2:] == ["1300.00", "16020.0"]
    assert "LM head (32016×4096)" in text


def test_the_one_layer_model_has_the_width_one_layer_and_a_shared_head():
    model = costs.one_layer_model({**TINY, "num_hidden_layers": 5}, torch.float32, torch.device("cpu"))
    assert len(model.model.layers) == 1 and model.config.hidden_size == 32
    assert model.lm_head.weight is model.model.embed_tokens.weight  # the head's matrix held once
    projection = costs.project({**TINY, "num_hidden_layers": 5}, torch.float32, torch.device("cpu"),
                               costs.Repeats(2, 1), prefills=(16,))
    one = projection.one_layer.step
    assert projection.layers == 5
    assert projection.step == pytest.approx(one.total + 4 * one.layer)


@pytest.mark.parametrize("engine_status", [0, 3])
def test_bench_engine_prints_the_costs_after_its_table(monkeypatch, engine_status):
    import bench.engine
    calls = []
    monkeypatch.setattr(command, "_load_pair", lambda args, settings: "pair")
    monkeypatch.setattr(bench.engine, "main", lambda pair, *rest: calls.append(("engine", pair)) or engine_status)
    monkeypatch.setattr(costs, "main", lambda pair, project_7b, log: calls.append(("costs", pair, project_7b)) or 0)
    monkeypatch.setattr(command, "_run_engines", lambda args, settings, pair: calls.append(("engines", pair)) or 0)
    args = argparse.Namespace(prompts=1, new_tokens=2, k=3, threads=None, project_7b=True, engines="none")
    assert command._run_engine(args, {}) == engine_status
    assert calls == ([("engine", "pair"), ("costs", "pair", True)] if engine_status == 0 else [("engine", "pair")])
    # the engines table comes last, unless --engines none
    calls.clear()
    args.engines = "available"
    assert command._run_engine(args, {}) == engine_status
    assert calls[-1] == (("engines", "pair") if engine_status == 0 else ("engine", "pair"))
