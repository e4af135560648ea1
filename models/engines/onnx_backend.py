"""A causal LM run by ONNX Runtime, called like the torch models by the decoders.

Execution providers come from the `device` setting: `npu` → AMD's VitisAI provider (Ryzen
AI software), `cuda` → CUDA's, else the CPU's (always available). The cache is numpy:
past keys/values go in, present ones come back; rolling back slices them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
import torch

from models.errors import DeviceError
from models.engines.onnx_export import INPUTS, OUTPUTS
from models.engines.static_llama import StaticOutput

ONNX_DTYPES = (torch.float32, torch.float16)  # ONNX Runtime's CPU provider has no bfloat16 matmul
NPU_PROVIDER = "VitisAIExecutionProvider"
PROVIDERS = {"npu": NPU_PROVIDER, "cuda": "CUDAExecutionProvider"}
CACHE_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def available_providers() -> list[str]:
    if importlib.util.find_spec("onnxruntime") is None:
        return []
    import onnxruntime
    return list(onnxruntime.get_available_providers())


def choose_providers(device: str) -> tuple[list[str], str]:
    """(providers in preference order, why), or a DeviceError naming what to install."""
    found = available_providers()
    if not found:
        raise DeviceError("the ONNX Runtime engine needs the `onnxruntime` package: pip install 'tandem-code[onnx]' "
                          "(for the Ryzen AI NPU, AMD's Ryzen AI software instead, which brings onnxruntime with "
                          "the VitisAI execution provider)")
    wanted = PROVIDERS.get(device.split(":")[0])
    if wanted and wanted in found:
        return [wanted, "CPUExecutionProvider"], f"{wanted} for device {device}"
    if device == "npu":
        raise DeviceError(f"device 'npu' needs ONNX Runtime's {NPU_PROVIDER}, which comes with AMD's Ryzen AI "
                          f"software (onnxruntime-vitisai); this onnxruntime offers {', '.join(found)}. Install "
                          "the Ryzen AI software, or set device to 'auto' or 'cpu'")
    if wanted is None:
        return ["CPUExecutionProvider"], f"CPUExecutionProvider for device {device}"
    return ["CPUExecutionProvider"], f"CPUExecutionProvider ({wanted} not available for {device})"


class OnnxKV:
    """Past keys and values as numpy arrays [layers, 1, kv_heads, positions, head_dim]."""

    def __init__(self, layers: int, kv_heads: int, head_dim: int, dtype):
        self.keys = np.zeros((layers, 1, kv_heads, 0, head_dim), dtype=dtype)
        self.values = self.keys.copy()

    def get_seq_length(self) -> int:
        return self.keys.shape[3]

    def crop(self, n: int) -> None:
        keep = max(0, self.get_seq_length() + n) if n < 0 else n
        self.keys, self.values = self.keys[:, :, :, :keep], self.values[:, :, :, :keep]


@dataclass(frozen=True)
class EmbeddingShape:
    """What the decoders read from `get_input_embeddings()`: the vocabulary size and where
    input tensors go (ONNX Runtime takes them from the CPU)."""
    num_embeddings: int

    @property
    def weight(self):
        return torch.empty(0)  # a CPU tensor: inputs are built on the CPU


class OnnxCausalLM:
    def __init__(self, path, config, providers: list[str], parameters: int):
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        self.providers = self.session.get_providers()
        self.config = config
        self.parameter_count = parameters
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        self.kv_heads = config.num_key_value_heads or config.num_attention_heads
        cache_type = self.session.get_inputs()[1].type
        if cache_type not in CACHE_TYPES:
            raise ValueError(f"the export's cache is {cache_type}; this engine handles {', '.join(CACHE_TYPES)}")
        self._dtype = CACHE_TYPES[cache_type]
        self._embeddings = EmbeddingShape(config.vocab_size)

    def get_input_embeddings(self) -> EmbeddingShape:
        return self._embeddings

    def parameters(self):
        yield torch.empty(self.parameter_count, device="meta")

    def new_cache(self) -> OnnxKV:
        return OnnxKV(self.config.num_hidden_layers, self.kv_heads, self.head_dim, self._dtype)

    def __call__(self, input_ids: torch.Tensor, cache: OnnxKV | None = None, use_cache: bool = True,
                 logits_to_keep: int = 0, **unused) -> StaticOutput:
        cache = cache if cache is not None else self.new_cache()
        logits, keys, values = self.session.run(OUTPUTS, dict(zip(INPUTS, (
            input_ids.cpu().numpy().astype(np.int64), cache.keys, cache.values))))
        cache.keys, cache.values = keys, values
        if logits_to_keep:
            logits = logits[:, -logits_to_keep:]
        return StaticOutput(torch.from_numpy(logits))
