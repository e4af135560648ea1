"""The GPU path on a real CUDA device: skipped without one (CI here has none), run as is
on a machine that has one (`pytest tests/models/test_cuda_engine.py`). It checks what the
CPU tests cannot: the draft loop's CUDA graphs are captured at load and replayed, and
speculative decoding over them is still the target's own greedy output; seeded sampling
uses a generator on the GPU."""

from __future__ import annotations

import pytest
import torch

from models.config import DecodingConfig, PairSpec
from models.pair import ModelPair

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

PROMPTS = ("def fibonacci(n):\n    ", "import os\n\n\ndef read_config(path):\n    with open(path) as f:\n        ",
           "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        ")


@pytest.fixture(scope="module")
def pairs():
    static = ModelPair.load(PairSpec(device="cuda", dtype="float32", engine="auto"))
    reference = ModelPair.load(PairSpec(device="cuda", dtype="float32", engine="transformers"))
    return static, reference


TARGET_ALONE = DecodingConfig(draft_tokens=0)


def test_auto_on_cuda_is_static_with_captured_draft_graphs(pairs):
    static, _ = pairs
    engines = static.describe()
    assert engines["target"]["engine"].startswith("static (")
    assert engines["draft"]["engine"].startswith("static+graphs (") and "as CUDA graphs" in engines["draft"]["engine"]


def test_speculative_greedy_over_cuda_graphs_is_the_target_alone(pairs):
    static, reference = pairs
    for text in PROMPTS:
        prompt = [static.bos_id, *static.encode(text)]
        for _ in range(2):  # the second request reuses both static caches
            alone = reference.generate(prompt, 32, decoding=TARGET_ALONE)
            assert static.generate(prompt, 32).token_ids == alone.token_ids, text


def test_seeded_sampling_on_the_gpu_repeats(pairs):
    static, _ = pairs
    sampled = DecodingConfig(draft_tokens=4, temperature=0.8, seed=7)  # fixed k: "auto" follows timings
    prompt = [static.bos_id, *static.encode(PROMPTS[0])]
    first, second = static.generate(prompt, 24, decoding=sampled), static.generate(prompt, 24, decoding=sampled)
    assert first.token_ids == second.token_ids
