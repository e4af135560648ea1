"""The llama.cpp engine: the GGUF writer keeps transformers' arithmetic (logits match torch
in f32), the KV cache rolls back by position, speculative decoding over it is that
engine's own greedy output (f32 and quantized), and what cannot run falls back to torch
with a reason. Real llama.cpp (llama-cpp-python, compiled by `make llamacpp`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoConfig

from models.config import DecodingConfig, PairSpec
from models.decoding.adaptive import FixedDraftLength
from models.decoding.forward import feeder
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.decoding.proposers import CombinedProposer, DraftModelProposer, PromptLookupProposer
from models.decoding.sampling import Sampler, SamplingParams
from models.decoding.speculative import speculative_generate
from models.devices import resolve_placement
from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET
from models.engines import llamacpp_backend
from models.engines.gguf_export import gguf_path
from models.engines.llamacpp_loading import load_llamacpp
from models.errors import DeviceError
from models.pair import ModelPair
from models.plan import plan_load
from models.preflight import GiB, model_need
from tests.models.engine_checks import assert_matches_torch_across_chunks_and_rollback
from tests.models.test_loading_preflight import CODELLAMA_7B, headers_only
from tests.models.test_onnx_engine import export_cache as gguf_cache  # noqa: F401 (fixture: a cache folder)
from tests.models.test_speculative_greedy import NEW_TOKENS, _decode, pair, prompts  # noqa: F401 (fixtures)

CPU32 = resolve_placement("cpu", "float32")


def load(role: str, path: Path, tokenizer, weights: str):
    parameters = model_need(role, path, "float32").parameters
    return load_llamacpp(role, path, CPU32, tokenizer, parameters, lambda _: weights)


@pytest.fixture(scope="module")
def llamacpp_pair(gguf_cache, pair):  # noqa: F811
    draft, target = pair
    loaded = []
    for model in (draft, target):
        on_llamacpp, engine = load(model.role, model.path, model.tokenizer, "f32")
        assert engine.name == "llamacpp" and "f32 weights" in engine.reason, engine
        loaded.append(on_llamacpp)
    return tuple(loaded)


def test_the_gguf_file_computes_what_torch_computes_across_chunks_and_rollback(pair, llamacpp_pair):  # noqa: F811
    # float32 GGUF: llama.cpp's kernels sum in another order than torch's
    assert_matches_torch_across_chunks_and_rollback(pair[1], llamacpp_pair[1], atol=5e-3, rtol=1e-3)


def test_this_llama_cpp_computes_a_batch_as_it_computes_one_token():
    # Built by `make llamacpp` without llamafile's tinyBLAS (batches of 2+ tokens): with it,
    # q8_0 verify passes rounded apart from one-token steps on 1 of 20 bench prompts.
    assert llamacpp_backend.batch_invariant(), "rebuild llama-cpp-python with `make llamacpp`"


def test_a_replaced_cache_refuses_instead_of_reading_another_sequence(llamacpp_pair):
    _, target = llamacpp_pair
    old = target.model.new_cache()
    target.model(input_ids=torch.tensor([[1, 2, 3]]), cache=old)
    target.model.new_cache()
    with pytest.raises(RuntimeError, match="replaced by a newer one"):
        target.model(input_ids=torch.tensor([[4]]), cache=old)


@pytest.mark.parametrize("weights", ["f32", "f16", "q8_0", "q4_0"])
def test_speculative_greedy_over_llamacpp_is_its_own_target_alone(gguf_cache, pair, prompts, weights):  # noqa: F811
    torch_draft, torch_target = pair
    draft, _ = load("draft", torch_draft.path, torch_draft.tokenizer, weights)
    target, _ = load("target", torch_target.path, torch_target.tokenizer, weights)
    eot = target.tokenizer.convert_tokens_to_ids("<EOT>")
    accepted = 0
    for target_prompt, draft_prompt in prompts[:12]:
        stops = Stops(NEW_TOKENS, {2, eot})
        alone = greedy_generate(target.model, target_prompt, stops, _decode(target))
        lookup = PromptLookupProposer([i for i in target_prompt if i < draft.vocab_size])
        proposer = CombinedProposer(lookup, DraftModelProposer(draft.model, list(draft_prompt), target.vocab_size))
        out = speculative_generate(target.model, target_prompt, proposer, FixedDraftLength(4), stops, _decode(target))
        assert out.token_ids == alone.token_ids
        accepted += out.stats.accepted
    assert accepted > 0  # the drafts were used, not all rejected


def test_a_pair_on_llamacpp_serves_and_says_so(gguf_cache):
    pair = ModelPair.load(PairSpec(engine="llamacpp"))
    assert pair.describe()["target"]["engine"].startswith("llamacpp (llama.cpp on the CPU, f32 weights")
    assert pair.describe()["weights"] == "f32"  # what tandem/status and the evaluation report name
    assert pair.warnings == []
    prompt = [pair.bos_id, *pair.encode("class Stack:\n    def push(self, item):\n        ")]
    alone = pair.generate(prompt, 20, decoding=DecodingConfig(draft_tokens=0))
    assert pair.generate(prompt, 20).token_ids == alone.token_ids
    assert len(alone.token_ids) > 0
    # written once: the next load reuses the file
    target_gguf = gguf_path(EMBEDDED_TARGET, "f32")
    assert target_gguf.is_file()
    stamp = target_gguf.stat().st_mtime_ns
    ModelPair.load(PairSpec(engine="llamacpp"))
    assert target_gguf.stat().st_mtime_ns == stamp


def test_a_model_the_writer_does_not_know_runs_on_transformers_with_the_reason(gguf_cache, tmp_path, pair):  # noqa: F811
    draft, _ = pair
    scaled = tmp_path / "scaled"
    shutil.copytree(EMBEDDED_DRAFT, scaled)
    config = json.loads((scaled / "config.json").read_text())
    config["rope_parameters"] = {"rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0}
    (scaled / "config.json").write_text(json.dumps(config))
    loaded, engine = load("draft", scaled, draft.tokenizer, "f32")
    assert engine.fell_back and engine.name == "transformers"
    assert "RoPE scaling 'linear'" in engine.reason
    assert isinstance(loaded.model, torch.nn.Module)


def test_the_plan_explains_llamacpp_and_refuses_what_it_cannot_do(monkeypatch):
    plan = plan_load(PairSpec(engine="llamacpp"))
    assert (plan.target_engine, plan.draft_engine) == ("llamacpp", "llamacpp")
    assert "auto = f32 below 1B parameters, q8_0 above" in plan.engine_reason
    assert plan.weight_type(135_000_000) == "f32" and plan.weight_type(6_700_000_000) == "q8_0"
    assert plan_load(PairSpec(engine="llamacpp", weights="q4_k_m")).weight_type(135_000_000) == "q4_k_m"
    with pytest.raises(DeviceError, match="runs on the CPU"):
        plan_load(PairSpec(engine="llamacpp", device="cuda"))
    with pytest.raises(DeviceError, match="unknown weights 'q3'"):
        plan_load(PairSpec(engine="llamacpp", weights="q3"))
    monkeypatch.setattr(llamacpp_backend, "available", lambda: False)
    with pytest.raises(DeviceError, match=r"llama-cpp-python.*make llamacpp"):
        plan_load(PairSpec(engine="llamacpp"))


def test_codellama_7b_in_q4_k_m_needs_a_fifth_of_float32(tmp_path):
    target = headers_only(tmp_path / "codellama-7b", CODELLAMA_7B)
    need = {kind: model_need("target", target, "float32", "llamacpp", lambda _, k=kind: k)
            for kind in ("f32", "q8_0", "q4_k_m")}
    assert round(need["f32"].weights / GiB, 1) == 25.1
    assert round(need["q8_0"].weights / GiB, 1) == 6.7
    assert round(need["q4_k_m"].weights / GiB, 1) == 3.8
    # llama.cpp's float16 KV cache over its preallocated window (4096 of CodeLlama's 16384)
    assert need["q4_k_m"].kv_cache == 2 * 32 * 4096 * 4096 * 2


def test_the_embedded_config_is_written_with_its_own_window(gguf_cache, pair):  # noqa: F811
    _, target = pair
    on_llamacpp, _ = load("target", target.path, target.tokenizer, "f32")
    assert on_llamacpp.context_window == AutoConfig.from_pretrained(EMBEDDED_TARGET).max_position_embeddings == 512


def test_quantizing_and_loading_print_nothing(tmp_path, capfd, pair):  # noqa: F811
    # In `tandem serve` over stdio, stdout is the protocol: llama.cpp's per-tensor log lines
    # from the quantizer and the loader would break it.
    _, target = pair
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path))
        capfd.readouterr()
        _, engine = load("target", target.path, target.tokenizer, "q4_k_m")
    out, err = capfd.readouterr()
    assert engine.name == "llamacpp" and "q4_k_m weights" in engine.reason
    assert out == "" and err == ""


def test_a_cache_folder_with_a_space_and_an_accent_holds_the_gguf(tmp_path, pair):  # noqa: F811
    _, target = pair
    home = tmp_path / "my cache é"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(home))
        loaded, engine = load("target", target.path, target.tokenizer, "q8_0")
        assert engine.name == "llamacpp", engine
        assert str(loaded.model.path).startswith(str(home))
        cache = loaded.model.new_cache()
        assert loaded.model(input_ids=torch.tensor([[1, 5, 6]]), cache=cache).logits.shape == (1, 3, loaded.vocab_size)


def test_q8_0_is_repacked_only_where_a_batch_computes_its_one_token_steps_bit_for_bit(gguf_cache, pair, monkeypatch):  # noqa: F811
    _, torch_target = pair
    q8, engine = load("target", torch_target.path, torch_target.tokenizer, "q8_0")
    assert q8.model.repacked and q8.model.rounds_alike() and "repacked" in engine.reason
    q4, engine = load("target", torch_target.path, torch_target.tokenizer, "q4_0")
    assert not q4.model.repacked and "repacked" not in engine.reason
    # A CPU whose repacked kernels round a batch apart: the probe says so and the load
    # goes back to the plain layout.
    monkeypatch.setattr(llamacpp_backend.LlamaCppCausalLM, "rounds_alike", lambda self: False)
    fallen, _ = load("target", torch_target.path, torch_target.tokenizer, "q8_0")
    assert not fallen.model.repacked
    for loaded in (q8, q4, fallen):
        loaded.model.close()


def test_the_decoders_feed_llama_cpp_lists_and_read_logits_of_their_own(llamacpp_pair):
    _, target = llamacpp_pair
    feed = feeder(target.model)
    assert feed == target.model.forward_ids  # no torch tensors on the per-token path
    cache = target.model.new_cache()
    prompt = feed([5, 6, 7, 8], cache, 1)
    assert isinstance(prompt, np.ndarray) and prompt.shape == (1, target.model.vocab_size)
    kept = prompt.copy()
    rows = feed([9, 10, 11], cache)
    assert rows.shape == (3, target.model.vocab_size)
    np.testing.assert_array_equal(prompt, kept)  # the next call wrote llama.cpp's buffer, not this array
    cache.crop(4)
    as_torch = target.model(input_ids=torch.tensor([[9, 10, 11]]), cache=cache).logits[0]
    np.testing.assert_array_equal(as_torch.numpy(), rows)


def test_masked_and_sampled_decoding_run_on_llama_cpp_logits(llamacpp_pair, prompts):  # noqa: F811
    draft, target = llamacpp_pair
    target_prompt, draft_prompt = prompts[1]
    first = greedy_generate(target.model, target_prompt, Stops(4), _decode(target)).token_ids[0]
    # The first token banned and no end before 6 tokens: rows masked in place on arrays.
    stops = Stops(12, {2, first}, min_new_tokens=6, banned_first_ids={first})
    alone = greedy_generate(target.model, target_prompt, stops, _decode(target))
    assert alone.token_ids[0] != first and first not in alone.token_ids[:6]
    proposer = DraftModelProposer(draft.model, list(draft_prompt), target.vocab_size)
    out = speculative_generate(target.model, target_prompt, proposer, FixedDraftLength(3), stops, _decode(target))
    assert out.token_ids == alone.token_ids

    def sampled(seed: int):
        sampler = Sampler.seeded(SamplingParams(temperature=0.8, top_k=40, top_p=0.95), seed, torch.device("cpu"))
        proposer = DraftModelProposer(draft.model, list(draft_prompt), target.vocab_size, sampler)
        return speculative_generate(target.model, target_prompt, proposer, FixedDraftLength(3), Stops(16),
                                    _decode(target), sampler)

    once, again = sampled(11), sampled(11)
    assert once.token_ids == again.token_ids and len(once.token_ids) == 16
    assert once.stats.drafted > 0
