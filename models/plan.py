"""The load plan: device, dtype, each model's engine and ONNX Runtime's providers, with the
reason for each, decided before anything is loaded.

`ModelPair.load` follows it and `tandem doctor` prints it, so what the doctor says is what
loading does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from transformers import AutoConfig

from models.config import AUTO_QUANTIZE_PARAMETERS, ENGINES, WEIGHT_TYPES, PairSpec
from models.devices import Placement, resolve_placement
from models.embedded import resolve_model_dirs
from models.engines import llamacpp_backend
from models.engines.gguf_export import unsupported
from models.engines.onnx_backend import ONNX_DTYPES, choose_providers
from models.errors import DeviceError

AUTO_ENGINES = ("auto = static caches and the draft's CUDA graphs on a GPU, llama.cpp on a CPU where "
                "llama-cpp-python is installed, else transformers")


@dataclass(frozen=True)
class LoadPlan:
    placement: Placement
    target_engine: str  # one of models.engines.acceleration.RUNS
    draft_engine: str
    engine_reason: str
    # ONNX Runtime's execution providers in preference order, and why; None off ONNX.
    providers: tuple[list[str], str] | None = None
    weights: str = "auto"  # the llama.cpp engine's weight type (WEIGHT_TYPES); see weight_type()

    def engine(self, role: str) -> str:
        return self.target_engine if role == "target" else self.draft_engine

    def weight_type(self, parameters: int) -> str:
        """The GGUF type of a model of `parameters` weights on the llama.cpp engine."""
        if self.weights != "auto":
            return self.weights
        return "f32" if parameters < AUTO_QUANTIZE_PARAMETERS else "q8_0"

    def describe_engines(self) -> str:
        """One name when both models run alike, else the target's with the draft's."""
        if self.draft_engine == self.target_engine:
            return self.target_engine
        return f"{self.target_engine} (draft: {self.draft_engine})"


def plan_load(spec: PairSpec) -> LoadPlan:
    """What loading `spec` will do; a DeviceError when the device or a provider it needs is
    missing (checked here, before minutes of loading)."""
    if spec.engine not in ENGINES:
        raise DeviceError(f"unknown engine '{spec.engine}': use {', '.join(ENGINES)}")
    if spec.weights not in WEIGHT_TYPES:
        raise DeviceError(f"unknown weights '{spec.weights}': use {', '.join(WEIGHT_TYPES)}")
    if spec.device == "npu":
        # PyTorch cannot reach the NPU: ONNX Runtime's VitisAI provider runs the export,
        # made from weights loaded on the CPU. The provider is checked before loading.
        providers = choose_providers("npu")
        placement = resolve_placement("cpu", spec.dtype)
        placement = replace(placement, reason=f"npu through ONNX Runtime (weights loaded on the CPU); "
                                              f"{placement.reason}")
        return _onnx(placement, providers, "device npu runs on ONNX Runtime only")
    if spec.engine == "llamacpp":
        return _llamacpp(spec, "setting engine=llamacpp")
    placement = resolve_placement(spec.device, spec.dtype)
    if spec.engine == "auto" and placement.device.type == "cpu":
        # On a CPU llama.cpp's step is 3-5x PyTorch's (tandem bench engine), when it is
        # installed and exact (a verify pass rounds like one-token steps). A dtype other
        # than float32 asks for PyTorch's weights in it; llama.cpp's own are `weights`.
        why_not = _llamacpp_unusable(spec)
        if why_not is None:
            return _llamacpp(spec, "setting engine=auto on the CPU: llama.cpp, the fastest engine installed")
        return LoadPlan(placement, "transformers", "transformers",
                        f"setting engine=auto on the CPU: transformers, as {why_not}")
    if spec.engine == "onnx":  # the providers follow the placement (CUDA's on a GPU)
        return _onnx(placement, choose_providers(placement.device.type), f"setting engine=onnx; {AUTO_ENGINES}")
    on_gpu = placement.device.type == "cuda"
    reason = f"setting engine={spec.engine}; {AUTO_ENGINES}"
    if spec.engine == "transformers" or (spec.engine == "auto" and not on_gpu):
        return LoadPlan(placement, "transformers", "transformers", reason)
    # The target's verify passes vary in length, so only the draft's loop is graphed, and
    # only where CUDA graphs exist.
    return LoadPlan(placement, "static", "static+graphs" if on_gpu else "static", reason)


def _onnx(placement: Placement, providers: tuple[list[str], str], reason: str) -> LoadPlan:
    if placement.dtype not in ONNX_DTYPES:
        placement = replace(placement, dtype=torch.float32,
                            reason=f"{placement.reason}; float32 for ONNX Runtime (no {placement.dtype} kernels)")
    return LoadPlan(placement, "onnx", "onnx", reason, providers)


def _llamacpp_unusable(spec: PairSpec) -> str | None:
    """Why `auto` cannot take llama.cpp here, or None. A checkpoint the GGUF writer does
    not know is found here, not at load: its fallback would load float32 torch weights the
    memory check had not counted."""
    if spec.dtype not in ("auto", "float32"):
        return (f"dtype {spec.dtype} names PyTorch weights (llama.cpp's are set by `weights`: f16, q8_0, q4_0, "
                "…; with dtype auto, engine auto takes llama.cpp where it is installed)")
    if not llamacpp_backend.available():
        return ("llama.cpp is not installed (llama-cpp-python: `make llamacpp` or "
                "pip install 'tandem-code[llamacpp]' makes it the CPU engine, about twice as fast)")
    if not llamacpp_backend.batch_invariant():
        return ("this llama.cpp was built with llamafile's batch kernels, whose verify passes round apart "
                "from greedy steps (`make llamacpp` builds it without them)")
    for role, directory in zip(("draft", "target"), resolve_model_dirs(spec.draft, spec.target)):
        try:
            config = AutoConfig.from_pretrained(directory, local_files_only=True, trust_remote_code=False)
        except (OSError, ValueError):
            continue  # loading says what is wrong with the directory
        if (why := unsupported(config)) is not None:
            return f"llama.cpp cannot run the {role} ({directory}): {why}"
    return None


def _llamacpp(spec: PairSpec, reason: str) -> LoadPlan:
    """llama.cpp runs here on the CPU; the checkpoint is read in float32 and written as GGUF."""
    llamacpp_backend.require()
    if spec.device not in ("auto", "cpu"):
        raise DeviceError(f"engine llamacpp runs on the CPU; device is '{spec.device}': set device to 'auto' "
                          "or 'cpu', or choose another engine for this device")
    placement = resolve_placement("cpu", "float32")
    placement = replace(placement, reason=f"llama.cpp runs on the CPU (device {spec.device}); the checkpoint is "
                                          "read in float32 to write its GGUF")
    weights = ("auto = f32 below 1B parameters, q8_0 above" if spec.weights == "auto"
               else f"setting weights={spec.weights}")
    return LoadPlan(placement, "llamacpp", "llamacpp", f"{reason}; GGUF weights: {weights}", weights=spec.weights)
