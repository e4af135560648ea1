"""Training samples: left-to-right windows for both models, fill-in-the-middle for the target.

FIM samples imitate inline completion: the "middle" starts at a cursor where editors have
it (mostly at the start of a statement or after a word boundary) and runs to the end of
that line or a few lines further, so the target learns to infill what an editor asks for. Layout (prefix-suffix-middle, as CodeLlama):
    [BOS, PRE] + prefix + [SUF] + suffix + [MID] + middle + [EOT]
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

IGNORE = -100


@dataclass(frozen=True)
class FimIds:
    bos: int
    pre: int
    suf: int
    mid: int
    eot: int


def token_stream(tokenizer: Tokenizer, texts: list[str], bos: int, eos: int) -> np.ndarray:
    """All documents as one id stream, each wrapped in BOS … EOS."""
    encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
    pieces = []
    for encoding in encodings:
        pieces.extend(([bos], encoding.ids, [eos]))
    return np.fromiter((i for piece in pieces for i in piece), dtype=np.int32)


def lm_window(stream: np.ndarray, length: int, bos: int, rng: random.Random) -> list[int]:
    """BOS followed by a random slice of the stream (prompts at run time start with BOS too)."""
    start = rng.randrange(0, len(stream) - length)
    return [bos] + stream[start:start + length - 1].tolist()


def split_for_fim(text: str, rng: random.Random, window_chars: int) -> tuple[str, str, str]:
    """Cut a window of `text` into (prefix, middle, suffix) around a random cursor."""
    if len(text) > window_chars:
        start = text.rfind("\n", 0, rng.randrange(0, len(text) - window_chars)) + 1
        text = text[start:start + window_chars]
    lines = text.splitlines(keepends=True)
    line_index = rng.randrange(len(lines))
    line = lines[line_index]
    indent = len(line) - len(line.lstrip())
    column = _cursor_column(line, indent, rng)
    extra_lines = min(int(rng.expovariate(0.4)), 8)
    cursor = sum(len(l) for l in lines[:line_index]) + column
    end = sum(len(l) for l in lines[:line_index + 1 + extra_lines])
    if extra_lines == 0:
        end -= 1 if line.endswith("\n") else 0  # single line: stop before its newline
    prefix, middle, suffix = text[:cursor], text[cursor:end], text[end:]
    if rng.random() < 0.1:
        suffix = ""  # cursor at the end of the file
    return prefix, middle, suffix


def _cursor_column(line: str, indent: int, rng: random.Random) -> int:
    """Where an editor's cursor tends to be: half the time at the start of a statement,
    a quarter right after a word or symbol boundary, a quarter anywhere in the line."""
    end = max(indent, len(line.rstrip("\n")))
    roll = rng.random()
    if roll < 0.5:
        return indent
    if roll < 0.75:
        boundaries = [i for i in range(indent + 1, end + 1) if not line[i - 1].isalnum() and line[i - 1] != "_"]
        if boundaries:
            return rng.choice(boundaries)
    return rng.randint(indent, end)


def fim_sample(tokenizer: Tokenizer, text: str, ids: FimIds, length: int,
               rng: random.Random) -> list[int]:
    prefix, middle, suffix = split_for_fim(text, rng, window_chars=length * 4)
    pre_ids, mid_ids, suf_ids = (
        e.ids for e in tokenizer.encode_batch([prefix, middle, suffix], add_special_tokens=False)
    )
    mid_ids = mid_ids[: length // 4]
    room = length - 5 - len(mid_ids)
    suf_ids = suf_ids[: room // 4]
    pre_ids = pre_ids[max(0, len(pre_ids) - (room - len(suf_ids))):]
    return [ids.bos, ids.pre, ids.suf, *suf_ids, ids.mid, *pre_ids, *mid_ids, ids.eot]


def to_batch(samples: list[list[int]], length: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to `length`; padded positions are ignored by the loss."""
    inputs = np.full((len(samples), length), pad, dtype=np.int64)
    labels = np.full((len(samples), length), IGNORE, dtype=np.int64)
    for row, sample in enumerate(samples):
        sample = sample[:length]
        inputs[row, :len(sample)] = sample
        labels[row, :len(sample)] = sample
    return inputs, labels
