"""Write a Llama-family checkpoint directory as GGUF, llama.cpp's file format, for the
llama.cpp engine (models/engines/llamacpp_backend.py).

f32 and f16 files are written here straight from the safetensors files, one tensor at a
time (a 7B checkpoint never sits in memory whole), with the `gguf` package (pure Python);
8- and 4-bit files are made from one of those by llama.cpp's own quantizer
(`llama_model_quantize`), so the kernels that read the blocks are the ones that wrote
them. Query and key projections are permuted from transformers' rotate-half layout to
llama.cpp's interleaved RoPE pairs, as llama.cpp's own converter does.

The vocabulary is written as placeholder pieces: Tandem tokenizes with the checkpoint's
tokenizer and hands llama.cpp token ids, so llama.cpp needs only how many there are.
Files are cached on disk by checkpoint (path and weights' mtimes), weight type and this
writer's version, like the ONNX export.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from models.engines.cache_files import derived_path


log = logging.getLogger(__name__)

WRITER_VERSION = 1
# Weight types (models.config.WEIGHT_TYPES): llama.cpp's file types (llama_ftype).
FILE_TYPES = {"f32": 0, "f16": 1, "q8_0": 7, "q4_0": 2, "q4_k_m": 15}
# Quantized files start from f32 up to this size, else from f16 (a 7B model in f32 is 27 GB).
F32_SOURCE_LIMIT = 4 * 2**30


class GGUFError(Exception):
    """This model cannot be written as GGUF; the caller falls back to torch."""


def gguf_path(checkpoint: Path, weight_type: str, cache_dir: Path | None = None) -> Path:
    return derived_path(checkpoint, "gguf", [weight_type, f"writer{WRITER_VERSION}"], f"model-{weight_type}.gguf",
                        cache_dir)


def unsupported(config) -> str | None:
    """None if a checkpoint with this transformers `config` can be written, else why not."""
    if getattr(config, "model_type", None) != "llama":
        return f"model type {getattr(config, 'model_type', '?')!r} is not llama"
    if getattr(config, "pretraining_tp", 1) != 1:
        return "pretraining_tp > 1 is not supported"
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if rope.get("rope_type", "default") not in ("default", None):
        return f"RoPE scaling {rope.get('rope_type')!r} is not written to GGUF here"
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        return "projection biases are not written to GGUF here"
    return None


def write_gguf(checkpoint: Path, config, weight_type: str, parameters: int,
               cache_dir: Path | None = None) -> Path:
    """The GGUF file of the checkpoint in `weight_type` (written once, then reused)."""
    if weight_type not in FILE_TYPES:
        raise GGUFError(f"weight type must be one of {', '.join(FILE_TYPES)}, got {weight_type!r}")
    reason = unsupported(config)
    if reason:
        raise GGUFError(f"no GGUF for this model: {reason}")
    path = gguf_path(checkpoint, weight_type, cache_dir)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if weight_type in ("f32", "f16"):
        _write_float(checkpoint, config, path, weight_type)
        return path
    source_type = "f32" if parameters * 4 <= F32_SOURCE_LIMIT else "f16"
    source = write_gguf(checkpoint, config, source_type, parameters, cache_dir)
    _quantize(source, path, weight_type)
    return path


def _permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """transformers' RoPE rotates halves of each head; llama.cpp's (for llama) adjacent pairs."""
    return weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _layout(config, names: set[str]) -> list[tuple[str, str, int]]:
    """(GGUF name, safetensors name, heads to permute by or 0), in the file's order."""
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads
    layout = [("token_embd.weight", "model.embed_tokens.weight", 0), ("output_norm.weight", "model.norm.weight", 0)]
    if not getattr(config, "tie_word_embeddings", False) and "lm_head.weight" in names:
        layout.append(("output.weight", "lm_head.weight", 0))
    for i in range(config.num_hidden_layers):
        prefix = f"model.layers.{i}."
        layout += [(f"blk.{i}.{gguf_name}.weight", f"{prefix}{hf_name}.weight", permute) for gguf_name, hf_name, permute in (
            ("attn_norm", "input_layernorm", 0), ("attn_q", "self_attn.q_proj", heads),
            ("attn_k", "self_attn.k_proj", kv_heads), ("attn_v", "self_attn.v_proj", 0),
            ("attn_output", "self_attn.o_proj", 0), ("ffn_norm", "post_attention_layernorm", 0),
            ("ffn_gate", "mlp.gate_proj", 0), ("ffn_up", "mlp.up_proj", 0), ("ffn_down", "mlp.down_proj", 0))]
    missing = [hf_name for _, hf_name, _ in layout if hf_name not in names]
    if missing:
        raise GGUFError(f"the checkpoint lacks {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}")
    return layout


def _write_float(checkpoint: Path, config, path: Path, weight_type: str) -> None:
    import gguf
    from safetensors import safe_open

    handles = [safe_open(str(file), framework="pt") for file in sorted(checkpoint.glob("*.safetensors"))]
    where = {name: handle for handle in handles for name in handle.keys()}
    layout = _layout(config, set(where))
    vocab = where["model.embed_tokens.weight"].get_slice("model.embed_tokens.weight").get_shape()[0]
    dtype = np.float16 if weight_type == "f16" else np.float32

    def array(hf_name: str, permute: int) -> np.ndarray:
        tensor = where[hf_name].get_tensor(hf_name).to(torch.float32).numpy()
        tensor = _permute(tensor, permute) if permute else tensor
        # Norms stay float32 in every file type, as llama.cpp's converter keeps them.
        return tensor.astype(dtype if tensor.ndim == 2 else np.float32)

    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    rope = getattr(config, "rope_parameters", None) or {}
    partial = path.with_suffix(".partial")
    writer = gguf.GGUFWriter(str(partial), "llama")
    writer.add_context_length(int(config.max_position_embeddings))
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads or config.num_attention_heads)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(vocab)
    writer.add_file_type(FILE_TYPES[weight_type])
    # Placeholder pieces: llama.cpp reads only ids from Tandem (see the module docstring).
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"<tandem-id-{i}>" for i in range(vocab)])
    writer.add_token_scores([0.0] * vocab)
    writer.add_token_types([gguf.TokenType.NORMAL] * vocab)
    for name in ("bos", "eos"):
        token = getattr(config, f"{name}_token_id", None)
        if isinstance(token, int):
            getattr(writer, f"add_{name}_token_id")(token)
    # Shapes first (the header lists every tensor), then the data one tensor at a time.
    for gguf_name, hf_name, _ in layout:
        shape = where[hf_name].get_slice(hf_name).get_shape()
        kind = np.dtype(dtype if len(shape) == 2 else np.float32)
        writer.add_tensor_info(gguf_name, shape, kind, int(np.prod(shape)) * kind.itemsize)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for _, hf_name, permute in layout:
            writer.write_tensor_data(array(hf_name, permute))
    finally:
        writer.close()
    partial.replace(path)
    log.info("wrote %s (%s)", path, weight_type)


def _quantize(source: Path, path: Path, weight_type: str) -> None:
    import ctypes

    from models.engines.llamacpp_backend import init_llama_cpp

    llama_cpp = init_llama_cpp()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FILE_TYPES[weight_type]
    params.nthread = os.cpu_count() or 1
    partial = path.with_suffix(".partial")
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), ctypes.byref(params))
    if status != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise GGUFError(f"llama.cpp's quantizer failed ({status}) making {weight_type} from {source}")
    partial.replace(path)
    log.info("quantized %s to %s", source, path)
