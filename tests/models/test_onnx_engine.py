"""The ONNX Runtime engine (the Ryzen AI NPU's route), checked on the CPU provider: the
export matches torch, speculative decoding over it is the target's own greedy output, and
what cannot run falls back to torch with a reason."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from models.config import PairSpec
from models.decoding.adaptive import FixedDraftLength
from models.decoding.generation import Stops
from models.decoding.proposers import CombinedProposer, DraftModelProposer, PromptLookupProposer
from models.decoding.speculative import speculative_generate
from models.devices import resolve_placement
from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET
from models.engines.acceleration import accelerate
from models.engines.onnx_backend import choose_providers
from models.errors import DeviceError
from models.loading import LoadedModel, load_checkpoint
from models.pair import ModelPair
from tests.models.engine_checks import assert_matches_torch_across_chunks_and_rollback
from tests.models.test_speculative_greedy import NEW_TOKENS, _decode, pair, prompts  # noqa: F401 (fixtures)
from tests.models.test_static_engine import references  # noqa: F401 (fixture)

CPU32 = resolve_placement("cpu", "float32")


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def onnx_pair(export_cache):
    draft, target = load_checkpoint("draft", EMBEDDED_DRAFT, CPU32), load_checkpoint("target", EMBEDDED_TARGET, CPU32)
    for model in (draft, target):
        engine = accelerate(model, "onnx")
        assert engine.name == "onnx" and "CPUExecutionProvider" in engine.reason, engine
    return draft, target


def test_the_export_matches_torch_across_chunks_and_rollback(pair, onnx_pair):  # noqa: F811
    assert_matches_torch_across_chunks_and_rollback(pair[1], onnx_pair[1])


def test_speculative_greedy_over_onnx_runtime_is_the_target_alone(onnx_pair, prompts, references):  # noqa: F811
    draft, target = onnx_pair
    eot = target.tokenizer.convert_tokens_to_ids("<EOT>")
    for (target_prompt, draft_prompt), reference in zip(prompts[:12], references):
        lookup = PromptLookupProposer([i for i in target_prompt if i < draft.vocab_size])
        proposer = CombinedProposer(lookup, DraftModelProposer(draft.model, list(draft_prompt), target.vocab_size))
        out = speculative_generate(target.model, target_prompt, proposer, FixedDraftLength(4),
                                   Stops(NEW_TOKENS, {2, eot}), _decode(target))
        assert out.token_ids == reference


def test_a_pair_on_the_onnx_engine_serves_and_says_so(export_cache):
    pair = ModelPair.load(PairSpec(device="cpu", dtype="float32", engine="onnx"))
    reference = ModelPair.load(PairSpec(device="cpu", dtype="float32"))
    assert pair.describe()["target"]["engine"].startswith("onnx (ONNX Runtime on CPUExecutionProvider")
    assert pair.describe()["target"]["parameters"] == reference.describe()["target"]["parameters"]
    prompt = [pair.bos_id, *pair.encode("class Stack:\n    def push(self, item):\n        ")]
    assert pair.generate(prompt, 20).token_ids == reference.generate(prompt, 20).token_ids
    assert pair.warnings == []


def test_an_architecture_that_cannot_be_exported_stays_on_torch_with_the_reason(export_cache):
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100)).eval()
    loaded = LoadedModel("draft", EMBEDDED_DRAFT, model, None, CPU32, 100, 1024, 0.0)
    engine = accelerate(loaded, "onnx")
    assert engine.fell_back and engine.name == "transformers" and loaded.model is model
    assert "no ONNX export for this architecture: model type 'gpt2' is not llama" in engine.reason


def test_a_failing_export_falls_back_and_the_user_is_told(export_cache, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("Exporting the operator 'aten::something' is not supported")

    monkeypatch.setattr(torch.onnx, "export", broken)
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-for-this-test")  # nothing exported may be reused
    pair = ModelPair.load(PairSpec(device="cpu", dtype="float32", engine="onnx"))
    assert pair.describe()["draft"]["engine"].startswith("transformers (ONNX Runtime unavailable: ONNX export failed")
    assert any("aten::something" in warning and "running on transformers" in warning for warning in pair.warnings)


def test_the_npu_without_amds_provider_is_a_clear_error():
    with pytest.raises(DeviceError, match="device 'npu' needs ONNX Runtime's VitisAIExecutionProvider.*Ryzen AI"):
        choose_providers("npu")
    with pytest.raises(DeviceError, match="VitisAIExecutionProvider"):
        ModelPair.load(PairSpec(device="npu"))
    assert choose_providers("cpu")[0] == ["CPUExecutionProvider"]


def test_bfloat16_asked_for_onnx_loads_in_float32_and_says_why(export_cache):
    pair = ModelPair.load(PairSpec(device="cpu", dtype="bfloat16", engine="onnx"))
    described = pair.describe()
    assert described["dtype"] == "float32" and "float32 for ONNX Runtime" in described["placementReason"]
    assert described["target"]["engine"].startswith("onnx (") and pair.warnings == []
    reference = ModelPair.load(PairSpec(device="cpu", dtype="float32"))
    prompt = [pair.bos_id, *pair.encode("def area(radius):\n    ")]
    assert pair.generate(prompt, 12).token_ids == reference.generate(prompt, 12).token_ids


def test_a_session_that_will_not_start_falls_back_with_the_reason(export_cache, monkeypatch):
    import models.engines.acceleration as acceleration

    def refuses(*args, **kwargs):
        raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : Load model failed")

    monkeypatch.setattr(acceleration, "OnnxCausalLM", refuses)
    loaded = load_checkpoint("draft", EMBEDDED_DRAFT, CPU32)
    model = loaded.model
    engine = accelerate(loaded, "onnx")
    assert engine.fell_back and loaded.model is model
    assert "the session would not start: RuntimeError: [ONNXRuntimeError]" in engine.reason
