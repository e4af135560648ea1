"""The llama.cpp projection of CodeLlama-7B: its arithmetic, and its timing loop on a real
llama.cpp model (the embedded target's GGUF)."""

import pytest

from bench.llamacpp_projection import SIZES, Projection, Timings, _projected, _time_passes, format_projection
from models.decoding.adaptive import expected_tokens
from models.engines import llamacpp_backend

needs_llamacpp = pytest.mark.skipif(not llamacpp_backend.available(), reason="needs llama-cpp-python")


def test_32_layers_are_one_layer_plus_31_times_the_difference():
    one = Timings({1: 10.0, 2: 12.0})
    two = Timings({1: 14.0, 2: 17.0})
    projected = _projected(one, two)
    assert projected.passes == {1: 10.0 + 31 * 4.0, 2: 12.0 + 31 * 5.0}
    assert projected.ratio(2) == pytest.approx(167.0 / 134.0)


def test_the_best_k_weighs_acceptance_against_verify_growth_and_the_draft():
    flat = Projection("q8_0", Timings({n: 100.0 for n in SIZES}), 90.0, "f32", 2.0)
    k, speedup = flat.best(0.74)
    assert k == max(range(9), key=lambda j: expected_tokens(0.74, j) / (1 + j * 0.02))
    assert speedup == pytest.approx(expected_tokens(0.74, k) / (1 + k * 0.02)) and speedup > 2
    # where a pass of n tokens costs n steps, nothing pays: the target alone
    steep = Projection("q8_0", Timings({n: 100.0 * n for n in SIZES}), 90.0, "f32", 2.0)
    assert steep.best(0.74) == (0, 1.0)
    table = format_projection(flat)
    assert "c = 2.00 / 100 = 0.0200" in table and "0.74" in table
    # the peer's step is 90 ms against Tandem's 100: tok/s against it is 0.9 of the speedup
    assert f"{speedup * 0.9:.2f}×" in table


@needs_llamacpp
def test_passes_are_timed_after_the_same_cached_context_each_time(tmp_path, monkeypatch):
    from models.embedded import resolve_model_dirs
    from bench import llamacpp_projection
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(llamacpp_projection, "CONTEXT", 64)
    _, target = resolve_model_dirs("", "")
    model = llamacpp_projection._load(target, "f32")
    seen = []
    real_call = model.__call__

    class Spy:
        def __getattr__(self, name):
            return getattr(model, name)

        def __call__(self, input_ids, cache=None, **kwargs):
            seen.append((cache.get_seq_length(), input_ids.shape[1]))
            return real_call(input_ids, cache=cache, **kwargs)

    try:
        (timings,) = _time_passes([Spy()], [(1, 3)], repeats=2)
    finally:
        model.close()
    assert seen[0] == (0, 64) and seen[1:] == [(64, 1), (64, 3)] * 2
    assert set(timings.passes) == {1, 3} and all(value > 0 for value in timings.passes.values())
