"""A Llama forward over preallocated KV buffers (gpt-fast style), sharing the weights of a
loaded transformers `LlamaForCausalLM`.

Why: transformers' `DynamicCache` grows by `torch.cat` every step and its attention sees a
different shape every step, so a GPU spends a draft step launching kernels and nothing
can be captured in a CUDA graph. Here each layer's keys and values live in one buffer
sized for the model's window; a forward writes at its positions, and rolling back is
moving a counter (`crop`). The one-token step reads its position from a device tensor and
attends over the whole buffer with a mask, so its shapes never change: `GraphedDraft`
captures k of those steps, argmax included, as one CUDA graph.

The norms, projections and MLPs are transformers' own modules, called as they are; only
the attention (SDPA over the buffers) and the RoPE lookup are done here. Llama-family
checkpoints only (AMD-Llama-135M, CodeLlama); `supports` says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def supports(model: torch.nn.Module) -> str | None:
    """None if `model` can run here, else why not."""
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None) != "llama":
        return f"model type {getattr(config, 'model_type', '?')!r} is not llama"
    if getattr(config, "pretraining_tp", 1) != 1:
        return "pretraining_tp > 1 is not supported"
    return None


class StaticKV:
    """Every layer's keys and values, preallocated; `length` positions are valid.

    It answers the two calls the decoders make of a cache: `get_seq_length()` and
    `crop(n)` (a negative n drops -n positions, as transformers 5 does)."""

    def __init__(self, layers: int, kv_heads: int, head_dim: int, max_len: int, dtype, device):
        shape = (layers, 1, kv_heads, max_len, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.max_len = max_len
        self.length = 0

    def get_seq_length(self) -> int:
        return self.length

    def crop(self, n: int) -> None:
        self.length = max(0, self.length + n) if n < 0 else min(self.length, n)


@dataclass
class StaticOutput:
    logits: torch.Tensor


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


class StaticLlama(torch.nn.Module):
    """Called like a transformers causal LM by the decoders: `model(input_ids=…, cache=…,
    use_cache=True, logits_to_keep=…)` → an object with `.logits`. One cache per model
    (`new_cache` resets it): graphs captured against its buffers stay valid."""

    def __init__(self, model: torch.nn.Module, max_len: int | None = None):
        super().__init__()
        reason = supports(model)
        if reason:
            raise ValueError(f"static KV cache unavailable: {reason}")
        self.model = model
        config = model.config
        self.config = config
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        self.kv_heads = config.num_key_value_heads or config.num_attention_heads
        self.max_len = min(max_len or config.max_position_embeddings, config.max_position_embeddings)
        weight = model.get_input_embeddings().weight
        positions = torch.arange(self.max_len, device=weight.device)[None]
        cos, sin = model.model.rotary_emb(weight[:1], positions)  # transformers' own RoPE (any scaling)
        self.register_buffer("cos", cos[0], persistent=False)
        self.register_buffer("sin", sin[0], persistent=False)
        self.kv = StaticKV(config.num_hidden_layers, self.kv_heads, self.head_dim, self.max_len,
                           weight.dtype, weight.device)
        self.graphed = None  # a GraphedDraft, when this model drafts on a GPU

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.model.get_input_embeddings()

    def new_cache(self) -> StaticKV:
        self.kv.length = 0
        return self.kv

    def _layers(self, x: torch.Tensor, cos, sin, attend) -> torch.Tensor:
        for index, layer in enumerate(self.model.model.layers):
            attention = layer.self_attn
            h = layer.input_layernorm(x)
            shape = (1, x.shape[1], -1, self.head_dim)
            q = _rotate(attention.q_proj(h).view(shape).transpose(1, 2), cos, sin)
            k = _rotate(attention.k_proj(h).view(shape).transpose(1, 2), cos, sin)
            v = attention.v_proj(h).view(shape).transpose(1, 2)
            out = attend(index, q, k, v, attention.scaling)
            x = x + attention.o_proj(out.transpose(1, 2).reshape(1, x.shape[1], -1))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.model.model.norm(x)

    def forward(self, input_ids: torch.Tensor, cache: StaticKV | None = None, use_cache: bool = True,
                logits_to_keep: int = 0, **unused) -> StaticOutput:
        """Feed `input_ids` (1 × T) at positions cache.length … + T − 1."""
        cache = cache if cache is not None else self.new_cache()
        start, count = cache.length, input_ids.shape[1]
        end = start + count
        if end > self.max_len:
            raise ValueError(f"{end} positions exceed the static cache's {self.max_len}")
        cos, sin = self.cos[start:end][None, None], self.sin[start:end][None, None]
        mask = None
        if count > 1:  # row i sees positions ≤ start + i
            mask = torch.arange(end, device=input_ids.device) <= (start + torch.arange(count, device=input_ids.device))[:, None]

        def attend(index, q, k, v, scale):
            cache.keys[index, :, :, start:end] = k
            cache.values[index, :, :, start:end] = v
            return F.scaled_dot_product_attention(q, cache.keys[index, :, :, :end], cache.values[index, :, :, :end],
                                                  attn_mask=mask, scale=scale,
                                                  enable_gqa=self.kv_heads != q.shape[1])

        x = self._layers(self.get_input_embeddings()(input_ids), cos, sin, attend)
        cache.length = end
        if logits_to_keep:
            x = x[:, -logits_to_keep:]
        return StaticOutput(self.model.lm_head(x))

    def step(self, token: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """One token (1 × 1) at a device-side `position` (shape 1), attending over the whole
        buffer under a mask: fixed shapes, no host synchronisation, capturable. Logits (vocab)."""
        cos, sin = self.cos[position][None, None], self.sin[position][None, None]
        mask = (torch.arange(self.max_len, device=token.device) <= position)[None]  # 1 query × buffer

        def attend(index, q, k, v, scale):
            self.kv.keys[index].index_copy_(2, position, k)
            self.kv.values[index].index_copy_(2, position, v)
            return F.scaled_dot_product_attention(q, self.kv.keys[index], self.kv.values[index], attn_mask=mask,
                                                  scale=scale, enable_gqa=self.kv_heads != q.shape[1])

        return self.model.lm_head(self._layers(self.get_input_embeddings()(token), cos, sin, attend))[0, -1]
