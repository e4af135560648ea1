"""The static-cache engine (the GPU path) is exact on the CPU: its logits match
transformers' forward, and speculative decoding over it, with the draft's device loop,
gives token for token the target's own greedy output."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from models.config import MAX_DRAFT_TOKENS, PairSpec
from models.decoding.adaptive import AdaptiveDraftLength, FixedDraftLength
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.decoding.proposers import CombinedProposer, DraftModelProposer, PromptLookupProposer
from models.decoding.speculative import speculative_generate
from models.devices import resolve_placement
from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET
from models.engines.acceleration import accelerate
from models.engines.graphed_draft import GraphedDraft
from models.engines.static_llama import StaticLlama
from models.loading import load_checkpoint
from models.pair import ModelPair
from tests.models.test_speculative_greedy import NEW_TOKENS, _decode, prompts  # noqa: F401 (fixture)

CPU32 = resolve_placement("cpu", "float32")


@pytest.fixture(scope="module")
def pair():
    """The embedded pair as transformers runs it (the `prompts` fixture reads its tokenizer)."""
    return load_checkpoint("draft", EMBEDDED_DRAFT, CPU32), load_checkpoint("target", EMBEDDED_TARGET, CPU32)


@pytest.fixture(scope="module")
def static_pair():
    """The same checkpoints on the static engine, the draft with its device loop."""
    draft, target = load_checkpoint("draft", EMBEDDED_DRAFT, CPU32), load_checkpoint("target", EMBEDDED_TARGET, CPU32)
    assert accelerate(target, "static").name == "static"
    assert accelerate(draft, "static+graphs").name == "static+graphs"
    assert draft.model.graphed.max_k == MAX_DRAFT_TOKENS  # every k a request may ask for is graphed
    return draft, target


@torch.inference_mode()
@pytest.mark.parametrize("kv_heads", [4, 2])  # plain multi-head and grouped-query attention
def test_logits_match_transformers_prefill_chunks_rollback_and_device_step(kv_heads):
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=kv_heads,
                                         max_position_embeddings=128)).eval()
    static = StaticLlama(model)
    ids = torch.randint(0, 300, (1, 40))
    reference = model(input_ids=ids).logits
    cache = static.new_cache()
    torch.testing.assert_close(static(input_ids=ids[:, :25], cache=cache).logits, reference[:, :25])
    torch.testing.assert_close(static(input_ids=ids[:, 25:31], cache=cache).logits, reference[:, 25:31])
    cache.crop(-3)  # reject three: positions 28.. are rewritten
    torch.testing.assert_close(static(input_ids=ids[:, 28:30], cache=cache).logits, reference[:, 28:30])
    step = static.step(ids[:, 30:31], torch.tensor([30]))
    torch.testing.assert_close(step, reference[0, 30])
    with pytest.raises(ValueError, match="exceed the static cache's 128"):
        static(input_ids=torch.zeros(1, 99, dtype=torch.long), cache=cache)


@pytest.fixture(scope="module")
def references(pair, prompts):  # noqa: F811
    _, target = pair
    eot = target.tokenizer.convert_tokens_to_ids("<EOT>")
    return [greedy_generate(target.model, p, Stops(NEW_TOKENS, {2, eot}), _decode(target)).token_ids
            for p, _ in prompts[:20]]


@pytest.mark.parametrize("kind, k", [("draft", 1), ("draft", 4), ("draft", 8), ("combined", 5), ("adaptive", None)])
def test_speculative_greedy_on_the_static_engine_is_the_target_alone(static_pair, prompts, references, kind,  # noqa: F811
                                                                      k):
    draft, target = static_pair
    eot = target.tokenizer.convert_tokens_to_ids("<EOT>")
    for (target_prompt, draft_prompt), reference in zip(prompts[:20], references):
        model = DraftModelProposer(draft.model, list(draft_prompt), target.vocab_size)
        lookup = PromptLookupProposer([i for i in target_prompt if i < draft.vocab_size])
        proposer = model if kind == "draft" else CombinedProposer(lookup, model)
        policy = AdaptiveDraftLength() if k is None else FixedDraftLength(k)
        out = speculative_generate(target.model, target_prompt, proposer, policy, Stops(NEW_TOKENS, {2, eot}),
                                   _decode(target))
        assert out.token_ids == reference
    assert draft.model.graphed is not None and not draft.model.graphed.capture  # the eager device loop ran


def test_a_static_pair_serves_consecutive_requests_like_the_transformers_one():
    static = ModelPair.load(PairSpec(device="cpu", dtype="float32", engine="static"))
    dynamic = ModelPair.load(PairSpec(device="cpu", dtype="float32", engine="transformers"))
    assert static.describe()["target"]["engine"].startswith("static (")
    assert dynamic.describe()["draft"]["engine"].startswith("transformers (")
    base = [static.bos_id, *static.encode("import os\n\n\ndef read_config(path):\n    ")]
    for prompt in (base, base + static.encode("with open(path) as f:\n        "), base[:-3]):
        ours, theirs = static.generate(prompt, 24), dynamic.generate(prompt, 24)
        assert ours.token_ids == theirs.token_ids
    assert static.target_prefix.reuse_ratio > 0.3  # the static caches were reused across requests


def test_a_static_cache_that_cannot_be_built_leaves_the_model_on_transformers(monkeypatch):
    import models.engines.acceleration as acceleration

    def no_room(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(acceleration, "StaticLlama", no_room)
    loaded = load_checkpoint("target", EMBEDDED_TARGET, CPU32)
    model = loaded.model
    engine = accelerate(loaded, "static")
    assert engine.fell_back and engine.name == "transformers" and loaded.model is model
    assert "OutOfMemoryError: CUDA out of memory" in engine.reason


def test_a_draft_loop_whose_capture_fails_runs_eagerly_and_says_why():
    loaded = load_checkpoint("draft", EMBEDDED_DRAFT, CPU32)
    static = StaticLlama(loaded.model, 256)
    graphed = GraphedDraft(static, capture=True)  # no CUDA here: the capture itself fails
    graphed.capture_all()
    assert not graphed.capture and graphed.capture_error
    logits = static(torch.tensor([[1, 450, 338]]), logits_to_keep=1).logits[0, -1]
    tokens, _ = graphed.run(logits, 3)
    assert len(tokens) == 3
