"""What to load and how to decode: plain, torch-free values that travel with each request.

The completion and LSP layers build these without importing torch; `models.pair` consumes
them. Each limit here has this one home (STYLE.md habit 13).
"""

from __future__ import annotations

from dataclasses import dataclass

# The longest draft per round, for every path: the setting's range, the adaptive schedule,
# the CUDA graphs captured at load (k = 1..MAX_DRAFT_TOKENS) and the draft's window headroom.
# Past ~8 tokens acceptance decays geometrically (E = (1-α^(k+1))/(1-α)), so longer drafts
# only add verify cost.
MAX_DRAFT_TOKENS = 8

ENGINES = ("auto", "transformers", "static", "onnx", "llamacpp")
# The llama.cpp engine's weights (GGUF types); auto = f32 below AUTO_QUANTIZE_PARAMETERS, q8_0 above.
WEIGHT_TYPES = ("auto", "f32", "f16", "q8_0", "q4_0", "q4_k_m")
AUTO_QUANTIZE_PARAMETERS = 1_000_000_000
# Bytes one weight takes in each (a block of 32 weights: q8_0 34 bytes, q4_0 18; q4_k_m
# mixes 4.5- and 6-bit blocks, about 4.85 bits a weight on Llama models).
GGUF_BYTES_PER_WEIGHT = {"f32": 4.0, "f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32, "q4_k_m": 4.85 / 8}
DTYPES = ("auto", "float32", "bfloat16", "float16")
DRAFT_SOURCES = ("model", "lookup", "combined")


@dataclass(frozen=True)
class PairSpec:
    """What to load: directories as the user gave them (empty = embedded) and placement.
    Two connections share loaded models exactly when their specs are equal."""
    draft: str = ""
    target: str = ""
    device: str = "auto"
    dtype: str = "auto"
    engine: str = "auto"  # one of ENGINES: see models/engines/acceleration.py
    weights: str = "auto"  # one of WEIGHT_TYPES: the llama.cpp engine's weight type
    # The remote engine (models/remote/): a server's URL ("" = local models), the served
    # model's name ("" = the only one) and a file holding its API key ("" = $TANDEM_REMOTE_KEY).
    remote_url: str = ""
    remote_model: str = ""
    remote_key_file: str = ""


@dataclass(frozen=True)
class DecodingConfig:
    """How one request decodes: draft length (0 = target alone, n = fixed, "auto" =
    adaptive), where drafts come from, and sampling (temperature 0 = greedy)."""
    draft_tokens: int | str = "auto"
    source: str = "combined"  # one of DRAFT_SOURCES
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.source not in DRAFT_SOURCES:
            raise ValueError(f"draft source must be one of {', '.join(DRAFT_SOURCES)}, got {self.source!r}")
        if self.draft_tokens != "auto" and not 0 <= int(self.draft_tokens) <= MAX_DRAFT_TOKENS:
            raise ValueError(f"draft tokens must be 'auto' or 0..{MAX_DRAFT_TOKENS}, got {self.draft_tokens!r}")
