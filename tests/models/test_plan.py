"""The load plan decides placement, engines and providers once; loading follows it."""

import pytest
import torch

from models.config import PairSpec
from models.engines import llamacpp_backend
from models.engines.onnx_backend import available_providers
from models.errors import DeviceError
from models.pair import ModelPair
from models.plan import plan_load

needs_onnxruntime = pytest.mark.skipif(not available_providers(), reason="needs onnxruntime")


def test_auto_on_a_cpu_is_llamacpp_where_installed_else_transformers_with_the_reason(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    if llamacpp_backend.available():  # `make test` builds it
        plan = plan_load(PairSpec())
        assert (plan.target_engine, plan.draft_engine, plan.providers) == ("llamacpp", "llamacpp", None)
        assert "engine=auto on the CPU: llama.cpp" in plan.engine_reason and plan.weights == "auto"
    monkeypatch.setattr(llamacpp_backend, "available", lambda: False)
    plan = plan_load(PairSpec())
    assert (plan.target_engine, plan.draft_engine, plan.providers) == ("transformers", "transformers", None)
    assert plan.describe_engines() == "transformers"
    assert "llama.cpp is not installed" in plan.engine_reason and "make llamacpp" in plan.engine_reason
    monkeypatch.setattr(llamacpp_backend, "available", lambda: True)
    monkeypatch.setattr(llamacpp_backend, "batch_invariant", lambda: False)
    assert "llamafile's batch kernels" in plan_load(PairSpec()).engine_reason
    assert plan_load(PairSpec(engine="transformers")).target_engine == "transformers"
    monkeypatch.setattr(llamacpp_backend, "batch_invariant", lambda: True)
    plan = plan_load(PairSpec(device="cpu", dtype="bfloat16"))  # PyTorch weights in bfloat16, as asked
    assert plan.target_engine == "transformers" and plan.placement.dtype == torch.bfloat16
    assert "dtype bfloat16 names PyTorch weights" in plan.engine_reason


def test_auto_leaves_a_checkpoint_llamacpp_cannot_run_on_transformers_before_the_memory_check(
        monkeypatch, tmp_path):
    """Its fallback at load would read float32 torch weights the memory check never counted."""
    monkeypatch.setattr(llamacpp_backend, "available", lambda: True)
    monkeypatch.setattr(llamacpp_backend, "batch_invariant", lambda: True)
    target = tmp_path / "gpt2-target"
    target.mkdir()
    (target / "config.json").write_text('{"model_type": "gpt2", "n_layer": 2, "n_embd": 64, "n_head": 2}')
    plan = plan_load(PairSpec(target=str(target), device="cpu"))
    assert plan.target_engine == "transformers"
    assert f"llama.cpp cannot run the target ({target}): model type 'gpt2' is not llama" in plan.engine_reason
    if torch.cuda.is_available():
        return
    assert plan_load(PairSpec(device="cpu")).target_engine == "llamacpp"  # the embedded pair is Llama


def test_static_graphs_only_the_draft_and_only_on_cuda():
    plan = plan_load(PairSpec(device="cpu", engine="static"))
    assert (plan.target_engine, plan.draft_engine) == ("static", "static")
    if torch.cuda.is_available():
        plan = plan_load(PairSpec(device="cuda", engine="auto"))
        assert plan.describe_engines() == "static (draft: static+graphs)"


@needs_onnxruntime
def test_onnx_with_bfloat16_plans_float32_and_the_placements_providers():
    plan = plan_load(PairSpec(device="cpu", dtype="bfloat16", engine="onnx"))
    assert plan.placement.dtype == torch.float32 and "float32 for ONNX Runtime" in plan.placement.reason
    assert plan.engine("draft") == plan.engine("target") == "onnx"
    assert plan.providers[0] == ["CPUExecutionProvider"]


def test_the_npu_is_onnx_and_its_provider_is_checked_before_loading():
    with pytest.raises(DeviceError, match="VitisAIExecutionProvider|needs the `onnxruntime` package"):
        plan_load(PairSpec(device="npu"))


def test_an_unknown_engine_is_refused():
    with pytest.raises(DeviceError, match="unknown engine 'fast'"):
        plan_load(PairSpec(device="cpu", engine="fast"))


def test_loading_follows_the_plan():
    pair = ModelPair.load(PairSpec(device="cpu", dtype="float32", engine="static"))
    assert pair.plan == plan_load(PairSpec(device="cpu", dtype="float32", engine="static"))
    assert {role: engine.name for role, engine in pair.engines.items()} == {"target": "static", "draft": "static"}
