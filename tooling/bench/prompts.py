"""Held-out prompts for benchmarks: windows of standard-library files the embedded pair
never trained on (the split is fixed by path hash, see tooling/training/corpus.py)."""

from __future__ import annotations

import random

from training import corpus


def held_out_prompts(tokenizer, count: int, length: int, seed: int = 0) -> list[list[int]]:
    """`count` left-context prompts of BOS + `length` tokens, each ending at a line start."""
    rng = random.Random(seed)
    files = [f.text for f in corpus.load_split(held_out=True) if len(f.text) > length * 8]
    prompts = []
    while len(prompts) < count:
        text = rng.choice(files)
        end = text.find("\n", rng.randrange(length * 6, len(text) - 200)) + 1
        ids = tokenizer.encode(text[max(0, end - length * 8):end], add_special_tokens=False)[-length:]
        prompts.append([tokenizer.bos_token_id, *ids])
    return prompts
