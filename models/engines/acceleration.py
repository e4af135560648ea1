"""Which engine runs a loaded model, and why.

- `transformers`: transformers' own forward and DynamicCache (the CPU default: measured,
  a preallocated cache gained nothing on a CPU, and this path is the reference).
- `static`: StaticLlama over preallocated KV buffers (rollback by position); the GPU default.
- `static+graphs`: the draft's greedy k-step loop captured as CUDA graphs on top (GPU draft).
- `onnx`: exported to ONNX and run by ONNX Runtime (the Ryzen AI NPU's only route).
- `llamacpp`: written as GGUF (f32, f16 or quantized) and run by llama.cpp on the CPU; not a
  swap of a loaded model but a load of its own (models/engines/llamacpp_loading.py).

Which name each model gets is decided before loading, by `models.plan.plan_load` (the
setting "auto" becomes static on CUDA/ROCm with the draft graphed, transformers elsewhere).
A model an engine cannot run (not Llama-family, a failed export) stays on transformers,
and the Engine says why, for the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from models.engines.graphed_draft import GraphedDraft
from models.engines.onnx_backend import ONNX_DTYPES, OnnxCausalLM
from models.engines.onnx_export import ExportError, export, export_path
from models.engines.static_llama import StaticLlama, supports
from models.loading import LoadedModel

log = logging.getLogger(__name__)

# What a model runs on (the setting adds "auto").
RUNS = ("transformers", "static", "static+graphs", "onnx", "llamacpp")
STATIC_WINDOW = 4096  # positions preallocated at most: CodeLlama's 16k would cost 8.6 GB of bf16 KV


@dataclass(frozen=True)
class Engine:
    name: str             # transformers | static | static+graphs | onnx
    reason: str
    fell_back: bool = False  # the engine asked for could not run this model

    def describe(self) -> str:
        return f"{self.name} ({self.reason})"


def fallback(loaded: LoadedModel, asked: str, reason: str) -> Engine:
    log.warning("%s model: %s; running on transformers instead", loaded.role, reason)
    return Engine("transformers", f"{asked} unavailable: {reason}", fell_back=True)


def accelerate(loaded: LoadedModel, engine: str, providers: tuple[list[str], str] | None = None) -> Engine:
    """Swap `loaded.model` for the model of `engine` (one of RUNS; `static+graphs` adds the
    draft's device loop, captured as CUDA graphs on a GPU, eager elsewhere). `providers`
    (from onnx_backend.choose_providers) are for `onnx`. (`llamacpp` models are loaded
    by models.engines.llamacpp_loading instead.) Whatever goes wrong building an
    engine leaves the model on transformers, with the reason: a faster engine is never
    worth no completions."""
    if engine not in RUNS:
        raise ValueError(f"engine must be one of {', '.join(RUNS)}, got {engine!r}")
    if engine == "onnx":
        return _onnx(loaded, providers or (["CPUExecutionProvider"], "the CPU's provider"))
    if engine == "llamacpp":
        raise ValueError("llama.cpp models are loaded by models.engines.llamacpp_loading, not swapped in")
    if engine == "transformers":
        on_gpu = loaded.placement.device.type == "cuda"
        return Engine("transformers", "DynamicCache" + ("" if on_gpu else "; on a CPU the reference path"))
    reason = supports(loaded.model)
    if reason:
        return fallback(loaded, "static cache", reason)
    try:
        static = StaticLlama(loaded.model, min(loaded.context_window, STATIC_WINDOW))
    except Exception as error:  # e.g. no memory left for the preallocated cache
        return fallback(loaded, "static cache", f"{type(error).__name__}: {error}")
    loaded.model, loaded.context_window = static, static.max_len
    if engine == "static+graphs":
        static.graphed = GraphedDraft(static)
        static.graphed.capture_all()
        if static.graphed.capture:
            how = "CUDA graphs"
        else:
            how = "one eager device loop" + (f" (capture failed: {static.graphed.capture_error})"
                                             if static.graphed.capture_error else "")
        return Engine("static+graphs", f"{static.max_len} preallocated positions; greedy draft loop as {how}")
    return Engine("static", f"{static.max_len} preallocated positions, rollback by position")


def _onnx(loaded: LoadedModel, providers: tuple[list[str], str]) -> Engine:
    if loaded.placement.dtype not in ONNX_DTYPES:  # plan_load places such models in float32
        return fallback(loaded, "ONNX Runtime", f"no ONNX Runtime kernels for {loaded.placement.dtype}; "
                                                 "load the model in float32 or float16")
    try:
        path = export(loaded.model, export_path(loaded.path, loaded.placement.dtype))
    except ExportError as error:
        return fallback(loaded, "ONNX Runtime", str(error))
    parameters = sum(p.numel() for p in loaded.model.parameters())
    try:
        onnx_model = OnnxCausalLM(path, loaded.model.config, providers[0], parameters)
    except Exception as error:  # a provider that refuses the graph, a damaged cached export
        return fallback(loaded, "ONNX Runtime", f"the session would not start: {type(error).__name__}: {error}")
    loaded.model = onnx_model
    return Engine("onnx", f"ONNX Runtime on {', '.join(onnx_model.providers)} ({providers[1]}); {path}")
