"""The stand-ins' model configs: AMD-Llama-135M exactly, CodeLlama-7B shrunk.

The real config.json files (amd/AMD-Llama-135m, codellama/CodeLlama-7b-hf) are the source
of every number kept. The target keeps CodeLlama-7B's vocabulary (32,016 rows), head size
(128), RoPE base (1e6) and positions (16,384); only its width and depth shrink, so a test
pair loads and runs on a CPU in seconds. The "wide" shape keeps 7B's full layer width with
few layers, for a benchmark that projects the whole model's per-layer cost.
"""

from __future__ import annotations

from dataclasses import dataclass

LLAMA_COMMON = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
                "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False, "initializer_range": 0.02,
                "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None, "tie_word_embeddings": False,
                "use_cache": True, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"}

# amd/AMD-Llama-135m config.json, unchanged but for the stored dtype (bfloat16, not float32).
AMD_LLAMA_135M = {**LLAMA_COMMON, "hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 12,
                  "num_attention_heads": 12, "num_key_value_heads": 12, "head_dim": 64, "vocab_size": 32000,
                  "max_position_embeddings": 2048, "rope_theta": 10000.0}
AMD_LLAMA_135M_PARAMETERS = 134_105_856

# codellama/CodeLlama-7b-hf config.json.
CODELLAMA_7B = {**LLAMA_COMMON, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 32, "head_dim": 128, "vocab_size": 32016,
                "max_position_embeddings": 16384, "rope_theta": 1000000.0}


@dataclass(frozen=True)
class TargetShape:
    hidden_size: int
    num_attention_heads: int
    intermediate_size: int
    num_hidden_layers: int


TARGET_SHAPES = {
    # A quarter of 7B's width (8 heads of 128), 4 layers: ~116M parameters.
    "test": TargetShape(hidden_size=1024, num_attention_heads=8, intermediate_size=2752, num_hidden_layers=4),
    # 7B's full layer width; the layer count is the caller's (default 2).
    "wide": TargetShape(hidden_size=4096, num_attention_heads=32, intermediate_size=11008, num_hidden_layers=2),
}


def target_config(shape: str = "test", layers: int | None = None) -> dict:
    """CodeLlama-7B's config.json at the named shape, `layers` replacing its depth."""
    if shape not in TARGET_SHAPES:
        raise ValueError(f"unknown target shape {shape!r}; expected one of {', '.join(TARGET_SHAPES)}")
    chosen = TARGET_SHAPES[shape]
    depth = layers if layers is not None else chosen.num_hidden_layers
    if depth < 1:
        raise ValueError("the target needs at least one layer")
    return {**CODELLAMA_7B, "hidden_size": chosen.hidden_size, "intermediate_size": chosen.intermediate_size,
            "num_attention_heads": chosen.num_attention_heads, "num_key_value_heads": chosen.num_attention_heads,
            "num_hidden_layers": depth}


def draft_config() -> dict:
    return dict(AMD_LLAMA_135M)


def parameter_count(config: dict) -> int:
    """A Llama decoder's parameters from its config (untied embeddings, no biases)."""
    hidden, ffn, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    heads, kv_heads, head_dim = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    per_layer = attention + 3 * hidden * ffn + 2 * hidden
    embeddings = vocab * hidden * (1 if config["tie_word_embeddings"] else 2)
    return embeddings + config["num_hidden_layers"] * per_layer + hidden
