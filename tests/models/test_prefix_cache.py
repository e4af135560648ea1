"""KV reuse across requests: the next prompt prefills only what it adds, and decoding
from a reused cache gives the same tokens as decoding from scratch (float32)."""

from __future__ import annotations

import pytest
import torch

from models.config import DecodingConfig, PairSpec
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.decoding.prefix_cache import PrefixCache
from models.decoding.sampling import as_tensor
from models.engines import llamacpp_backend
from models.pair import ModelPair
from training import corpus


DECODING = DecodingConfig(draft_tokens=3, source="combined")


@pytest.fixture(scope="module", params=["transformers", "llamacpp"])
def pair(request):
    if request.param == "llamacpp" and not llamacpp_backend.available():
        pytest.skip("needs llama-cpp-python (make llamacpp)")
    return ModelPair.load(PairSpec(device="cpu", dtype="float32", engine=request.param))


@pytest.fixture(scope="module")
def typing_prompts(pair):
    """Prompts as typing makes them: each the previous plus a few more tokens."""
    text = next(f.text for f in corpus.load_split(held_out=True) if len(f.text) > 4000)
    ids = [pair.bos_id, *pair.encode(text[:3000])][:260]
    return [ids[:n] for n in range(200, 260, 6)]


def test_consecutive_prompts_reuse_the_cache_and_decode_as_from_scratch(pair, typing_prompts):
    target = pair.target.model
    # Decoded from scratch first: on llama.cpp a model has one context, which a plain
    # decode between the requests would take from the prefix cache.
    fresh = [greedy_generate(target, prompt, Stops(12, {pair.target.tokenizer.eos_token_id}), pair.decode)
             for prompt in typing_prompts]
    for prompt, alone in zip(typing_prompts, fresh):
        reused_before = pair.target_prefix.reused_tokens
        result = pair.generate(prompt, 12, decoding=DECODING)
        assert result.token_ids == alone.token_ids
        if prompt is not typing_prompts[0]:
            # the previous prompt, and more where its continuation matched the new tokens
            reused = result.stats.reused_prompt_tokens
            assert len(prompt) - 6 <= reused <= len(prompt) - 1
            assert pair.target_prefix.reused_tokens - reused_before == reused
    assert pair.target_prefix.reuse_ratio > 0.8
    assert pair.draft_prefix.reuse_ratio > 0.5


def test_a_prompt_that_diverges_early_is_mostly_prefilled_again(pair, typing_prompts):
    prompt = typing_prompts[-1]
    pair.generate(prompt, 4, decoding=DECODING)
    changed = list(prompt)
    changed[10] = (changed[10] + 1) % 8000
    result = pair.generate(changed, 8, decoding=DECODING)
    assert result.stats.reused_prompt_tokens == 10
    fresh = greedy_generate(pair.target.model, changed, Stops(8, {pair.target.tokenizer.eos_token_id}),
                            pair.decode)
    assert result.token_ids == fresh.token_ids


def test_prefill_from_a_reused_cache_gives_the_fresh_logits(pair, typing_prompts):
    model, cache = pair.target.model, PrefixCache()
    cache.prefill(model, typing_prompts[3])
    cache.record(typing_prompts[3] + [17, 18, 19])  # a continuation that was never fed: cut
    assert cache.ids == typing_prompts[3]
    _, logits, reused = cache.prefill(model, typing_prompts[5])
    assert reused == len(typing_prompts[3])
    with torch.inference_mode():
        fresh = model(input_ids=torch.tensor([typing_prompts[5]])).logits[0, -1:]
    torch.testing.assert_close(as_tensor(logits), fresh, rtol=1e-4, atol=1e-4)


def test_the_same_prompt_twice_still_feeds_its_last_token(pair, typing_prompts):
    prompt = typing_prompts[2]
    pair.generate(prompt, 4, decoding=DECODING)
    again = pair.generate(prompt, 4, decoding=DECODING)
    assert again.stats.reused_prompt_tokens == len(prompt) - 1


def test_a_failure_mid_generation_forgets_the_cache(pair, typing_prompts):
    pair.generate(typing_prompts[0], 4, decoding=DECODING)

    def explode(text):
        raise RuntimeError("stop rule failed")

    with pytest.raises(RuntimeError):
        pair.generate(typing_prompts[1], 8, should_stop=explode, decoding=DECODING)
    assert pair.target_prefix.cache is None and pair.target_prefix.ids == []
    result = pair.generate(typing_prompts[1], 4, decoding=DECODING)
    assert result.stats.reused_prompt_tokens == 0


def test_a_cache_another_decode_took_is_prefilled_again_not_misread(pair, typing_prompts):
    """llama.cpp: one context per model. A plain decode between two requests takes it; the
    next request finds its cache stale, prefills from scratch, and decodes as from scratch."""
    prompt = typing_prompts[4]
    pair.generate(prompt, 4, decoding=DECODING)
    eos = pair.target.tokenizer.eos_token_id
    alone = greedy_generate(pair.target.model, prompt, Stops(8, {eos}), pair.decode)
    result = pair.generate(prompt, 8, decoding=DECODING)
    assert result.token_ids == alone.token_ids
    if pair.target.model.__class__.__name__ == "LlamaCppCausalLM":
        assert result.stats.reused_prompt_tokens == 0
