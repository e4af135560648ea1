"""Shared fixtures: tiny checkpoints that tests create and save themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standin_fixture import standins  # noqa: F401  (the real-vocabulary stand-in pair)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

TINY_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "for item in items:\n    print(item)\n",
    "import os\nimport sys\n\nprint(os.path.join('a', 'b'))\n",
] * 20


def save_tiny_checkpoint(directory: Path, fim: bool, seed: int = 0, corpus: list[str] | None = None) -> Path:
    """A real (random-weight) Llama checkpoint with a real BPE tokenizer, in HF format."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from training.tokenizer import as_transformers, train_base_tokenizer, with_fim_tokens

    base = train_base_tokenizer(corpus or TINY_CORPUS, vocab_size=300)
    tokenizer = with_fim_tokens(base) if fim else base
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=256,
                         bos_token_id=1, eos_token_id=2, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    model.save_pretrained(directory)
    as_transformers(tokenizer).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory) -> tuple[Path, Path]:
    """(draft, target) tiny checkpoints sharing one tokenizer; the target has FIM tokens."""
    root = tmp_path_factory.mktemp("tiny")
    return (save_tiny_checkpoint(root / "draft", fim=False, seed=1),
            save_tiny_checkpoint(root / "target", fim=True, seed=2))
