"""Export a Llama-family checkpoint to ONNX with its KV cache as inputs and outputs, for
ONNX Runtime (the only way onto a Ryzen AI NPU: AMD's VitisAI execution provider).

The graph: (input_ids [1, T], past_keys, past_values [layers, 1, kv_heads, P, head_dim])
→ (logits [1, T, vocab], present_keys, present_values [..., P + T, ...]); T and P are
dynamic. It is traced from transformers' own modules (norms, projections, MLP) with the
attention written out (explicit causal mask, RoPE from the model's inverse frequencies),
so any opset-17 runtime can run it. Exports are cached on disk by checkpoint and dtype.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from models.engines.cache_files import derived_path
from models.engines.static_llama import supports

log = logging.getLogger(__name__)

OPSET = 17
INPUTS = ["input_ids", "past_keys", "past_values"]
OUTPUTS = ["logits", "present_keys", "present_values"]


class ExportError(Exception):
    """This model cannot be exported; the caller falls back to torch."""


class KVModule(torch.nn.Module):
    """The traced function: explicit past in, present out."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        config = model.config
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        self.groups = config.num_attention_heads // (config.num_key_value_heads or config.num_attention_heads)
        rotary = model.model.rotary_emb
        self.register_buffer("inv_freq", rotary.inv_freq.float().clone(), persistent=False)
        self.rope_scale = float(rotary.attention_scaling)

    def forward(self, input_ids, past_keys, past_values):
        count, past = input_ids.shape[1], past_keys.shape[3]
        positions = torch.arange(count, device=input_ids.device) + past
        freqs = positions[:, None].float() * self.inv_freq[None]
        angles = torch.cat((freqs, freqs), dim=-1)
        x = self.model.get_input_embeddings()(input_ids)
        cos = (angles.cos() * self.rope_scale).to(x.dtype)[None, None]
        sin = (angles.sin() * self.rope_scale).to(x.dtype)[None, None]
        visible = torch.arange(past + count, device=input_ids.device)[None] <= positions[:, None]
        half = self.head_dim // 2

        def rotate(t):
            return t * cos + torch.cat((-t[..., half:], t[..., :half]), dim=-1) * sin

        keys_out, values_out = [], []
        for index, layer in enumerate(self.model.model.layers):
            attention = layer.self_attn
            h = layer.input_layernorm(x)
            shape = (1, count, -1, self.head_dim)
            q = rotate(attention.q_proj(h).view(shape).transpose(1, 2))
            k = torch.cat((past_keys[index], rotate(attention.k_proj(h).view(shape).transpose(1, 2))), dim=2)
            v = torch.cat((past_values[index], attention.v_proj(h).view(shape).transpose(1, 2)), dim=2)
            keys_out.append(k)
            values_out.append(v)
            if self.groups > 1:
                k, v = k.repeat_interleave(self.groups, dim=1), v.repeat_interleave(self.groups, dim=1)
            scores = (q @ k.transpose(2, 3)).float() * attention.scaling
            scores = scores.masked_fill(~visible, float("-inf"))
            out = torch.softmax(scores, dim=-1).to(v.dtype) @ v
            x = x + attention.o_proj(out.transpose(1, 2).reshape(1, count, -1))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = self.model.lm_head(self.model.model.norm(x))
        return logits, torch.stack(keys_out), torch.stack(values_out)


def export_path(checkpoint: Path, dtype: torch.dtype, cache_dir: Path | None = None) -> Path:
    """Where the export of this checkpoint (by path and weights' mtimes) in `dtype` lives."""
    # A new torch or opset may trace differently: both are part of the key.
    return derived_path(checkpoint, "onnx", [str(dtype), f"opset{OPSET}", torch.__version__], "model.onnx",
                        cache_dir)


@torch.inference_mode()
def export(model: torch.nn.Module, path: Path) -> Path:
    """Write `model` to `path` (once); ExportError says why when it cannot be done."""
    reason = supports(model)
    if reason:
        raise ExportError(f"no ONNX export for this architecture: {reason}")
    if path.is_file():
        return path
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    weight = model.get_input_embeddings().weight
    past = torch.zeros(config.num_hidden_layers, 1, config.num_key_value_heads or config.num_attention_heads, 3,
                       head_dim, dtype=weight.dtype, device=weight.device)
    dynamic = {"input_ids": {1: "tokens"}, "past_keys": {3: "past"}, "past_values": {3: "past"},
               "logits": {1: "tokens"}, "present_keys": {3: "total"}, "present_values": {3: "total"}}
    partial = path.with_suffix(".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's chatter about shapes as Python values
            torch.onnx.export(KVModule(model).eval(), (torch.zeros(1, 2, dtype=torch.long, device=weight.device),
                                                         past, past.clone()),
                              str(partial), dynamo=False, opset_version=OPSET, input_names=INPUTS,
                              output_names=OUTPUTS, dynamic_axes=dynamic)
    except Exception as error:  # the exporters fail in many ways; all mean "use torch"
        partial.unlink(missing_ok=True)
        raise ExportError(f"ONNX export failed: {str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}") from error
    partial.replace(path)
    log.info("exported %s to %s", config.model_type, path)
    return path
