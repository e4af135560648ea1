"""The time budget is a promise, prefills included: a long prompt is read in chunks with
the deadline checked between them, the chunks read before it stay cached for the next
request, and chunked reading gives the same tokens as one forward (float32).

The clock here is fake where a test counts chunks: it reads the number of prefill
forwards run so far, so "the deadline passes after the third chunk" is exact."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import torch

from models.config import DecodingConfig, PairSpec
from models.decoding import generation
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.decoding.prefix_cache import PrefixCache
from models.pair import ModelPair
from models.records import StopReason
from training import corpus

DRAFTED = DecodingConfig(draft_tokens=3, source="model")  # the draft model proposes every round
CHUNK = 32


@pytest.fixture(scope="module")
def pair():
    return ModelPair.load(PairSpec(device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def long_prompt(pair):
    """Nearly the embedded models' whole window (512 positions): 14 chunks of 32."""
    text = next(f.text for f in corpus.load_split(held_out=True) if len(f.text) > 4000)
    return [pair.bos_id, *pair.encode(text)][:450]


@pytest.fixture
def fresh(pair):
    """The pair with empty caches, reading prompts in chunks of CHUNK tokens."""
    for prefix in (pair.target_prefix, pair.draft_prefix):
        prefix.forget()
        prefix.chunk, prefix.chunks = CHUNK, 0
    yield pair
    for prefix in (pair.target_prefix, pair.draft_prefix):
        prefix.forget()
        prefix.chunk = PrefixCache().chunk


def chunk_clock(monkeypatch, *prefixes: PrefixCache) -> None:
    """Time, as the deadline checks see it, is the number of prefill chunks run so far."""
    monkeypatch.setattr(generation, "time", SimpleNamespace(
        perf_counter=lambda: float(sum(p.chunks for p in prefixes))))


def reference(pair, prompt, new_tokens):
    return greedy_generate(pair.target.model, prompt, Stops(new_tokens, {pair.target.tokenizer.eos_token_id}),
                           pair.decode).token_ids


def test_a_deadline_already_past_reads_nothing_and_returns_nothing(fresh, long_prompt):
    out = fresh.generate(long_prompt, 8, deadline=time.perf_counter() - 1.0, decoding=DRAFTED)
    assert out.token_ids == () and out.stats.stop_reason == StopReason.TIME_BUDGET
    assert fresh.target_prefix.chunks == 0 and fresh.draft_prefix.chunks == 0
    assert fresh.target_prefix.ids == [] and fresh.target_prefix.cache.get_seq_length() == 0


def test_prefill_stops_between_chunks_and_the_next_request_reuses_them(fresh, long_prompt, monkeypatch):
    chunk_clock(monkeypatch, fresh.target_prefix)
    out = fresh.generate(long_prompt, 8, deadline=3.0, decoding=DRAFTED)  # three chunks' time
    assert out.token_ids == () and out.stats.stop_reason == StopReason.TIME_BUDGET
    assert fresh.target_prefix.chunks == 3
    # The cache holds exactly the chunks read, and says so.
    assert fresh.target_prefix.ids == long_prompt[:3 * CHUNK]
    assert fresh.target_prefix.cache.get_seq_length() == 3 * CHUNK
    monkeypatch.undo()

    again = fresh.generate(long_prompt, 8, decoding=DRAFTED)  # no budget: reads the rest
    assert again.stats.reused_prompt_tokens == 3 * CHUNK
    assert again.token_ids == reference(fresh, long_prompt, 8)


def test_a_draft_that_cannot_read_its_prompt_in_time_sits_out_and_keeps_its_chunks(
        fresh, long_prompt, monkeypatch):
    chunk_clock(monkeypatch, fresh.target_prefix, fresh.draft_prefix)
    target_chunks = -(-len(long_prompt) // CHUNK)
    out = fresh.generate(long_prompt, 8, draft_prompt_ids=long_prompt, deadline=target_chunks + 2.0,
                         decoding=DRAFTED)
    assert fresh.target_prefix.chunks == target_chunks and fresh.draft_prefix.chunks == 2
    # The target read its prompt; the draft proposed nothing; the target went on alone.
    assert out.stats.stop_reason == StopReason.TIME_BUDGET and out.stats.drafted == 0
    assert 1 <= len(out.token_ids) and out.token_ids == reference(fresh, long_prompt, 8)[:len(out.token_ids)]
    assert fresh.draft_prefix.ids == long_prompt[:2 * CHUNK]
    monkeypatch.undo()

    reused = fresh.draft_prefix.reused_tokens
    again = fresh.generate(long_prompt, 8, draft_prompt_ids=long_prompt, decoding=DRAFTED)
    assert fresh.draft_prefix.reused_tokens - reused == 2 * CHUNK
    assert again.stats.drafted > 0 and again.token_ids == reference(fresh, long_prompt, 8)


def test_chunked_prefill_gives_the_one_shot_tokens_and_logits(fresh, long_prompt):
    prompt = long_prompt[:160]  # 23 chunks of 7: enough seams, and quick
    model = fresh.target.model
    chunked, whole = PrefixCache(chunk=7), PrefixCache(chunk=10 ** 6)
    _, chunked_logits, _ = chunked.prefill(model, prompt)
    _, whole_logits, _ = whole.prefill(model, prompt)
    assert chunked.chunks == -(-len(prompt) // 7) and whole.chunks == 1
    torch.testing.assert_close(chunked_logits, whole_logits, rtol=1e-4, atol=1e-4)

    fresh.target_prefix.chunk = fresh.draft_prefix.chunk = 7
    by_chunks = fresh.generate(prompt, 16, draft_prompt_ids=prompt, decoding=DRAFTED)
    for prefix in (fresh.target_prefix, fresh.draft_prefix):
        prefix.forget()
        prefix.chunk = 10 ** 6
    at_once = fresh.generate(prompt, 16, draft_prompt_ids=prompt, decoding=DRAFTED)
    assert by_chunks.token_ids == at_once.token_ids == reference(fresh, prompt, 16)


def test_no_budget_reads_the_whole_prompt(fresh, long_prompt):
    """What warm-up relies on: without a deadline the caches end up holding the prompt."""
    fresh.generate(long_prompt, 1, draft_prompt_ids=long_prompt, decoding=DRAFTED)
    assert fresh.target_prefix.ids[:len(long_prompt)] == long_prompt
    assert fresh.target_prefix.chunks == -(-len(long_prompt) // CHUNK)


def test_a_cancelled_prefill_stops_between_chunks_and_keeps_them(fresh, long_prompt):
    """A warm-up's prefill (no budget) yields to the real request within a chunk."""
    target = fresh.target_prefix
    out = fresh.generate(long_prompt, 1, is_cancelled=lambda: target.chunks >= 2, decoding=DRAFTED)
    assert out.token_ids == () and out.stats.stop_reason == StopReason.CANCELLED
    assert target.chunks == 2 and target.ids == long_prompt[:2 * CHUNK]
