"""Independent references for the stand-in pair (tooling/standins), shared by the tests that
check Tandem against them: the ids of CodeLlama's infilling tokens, an encoder that behaves
as Meta's SentencePiece `encode`, Meta's infilling layout, and a foreign draft.

Nothing here goes through Tandem's code (completion.formats, models.pair): the point is to
compare Tandem's prompts with what CodeLlama was trained on, worked out another way."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, normalizers

BOS, PRE, SUF, MID, EOT = 1, 32007, 32008, 32009, 32010


def sentencepiece_encoder(target: Path) -> Callable[[str], list[int]]:
    """An encoder that behaves as Meta's SentencePiece `encode`: LLaMA's pieces and merges
    with the dummy "▁" always written before the text (the normalizer of the tokenizer.json
    files converted before transformers 4.41). Not transformers' tokenizer classes: those
    skip the dummy prefix when the text already starts with a space. Added tokens (`<s>`,
    `▁<PRE>`, ...) are unknown to it: text that spells them is encoded as text."""
    model = json.loads((Path(target) / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    encoder = Tokenizer(models.BPE(vocab=model["vocab"], merges=[tuple(m) for m in model["merges"]],
                                   unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    encoder.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    return lambda text: encoder.encode(text, add_special_tokens=False).ids


@pytest.fixture(scope="module")
def sentencepiece(standins):
    """`sentencepiece_encoder` of the stand-in target."""
    return sentencepiece_encoder(standins.target)


def meta_infilling_prompt(encode, prefix: str, suffix: str) -> list[int]:
    """meta-llama/codellama llama/generation.py infilling_prompt_tokens (suffix_first=False),
    with llama/tokenizer.py encode_infilling(s) = encode("☺" + s)[2:]."""
    return [BOS, PRE, *encode(prefix), SUF, *encode("☺" + suffix)[2:], MID]


def foreign_draft(standins, directory: Path, swapped: tuple[int, int]) -> Path:
    """The draft with two pieces swapped in its vocabulary, and weights no loader can read."""
    directory.mkdir()
    for name in ("config.json", "tokenizer_config.json"):
        shutil.copy(standins.draft / name, directory / name)
    tokenizer = json.loads((standins.draft / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = tokenizer["model"]["vocab"]
    first, second = (next(piece for piece, index in vocab.items() if index == i) for i in swapped)
    vocab[first], vocab[second] = vocab[second], vocab[first]
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    (directory / "model.safetensors").write_bytes(b"not a safetensors file")
    return directory
