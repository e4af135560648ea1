"""Edges of the speculative loop: NaN logits, cancellation mid-generation, budgets, and a
draft prompt longer than the draft's positions."""

import torch

from models.config import MAX_DRAFT_TOKENS, DecodingConfig
from models.decoding.adaptive import FixedDraftLength
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.decoding.proposers import DraftModelProposer
from models.decoding.sampling import Sampler
from models.decoding.speculative import speculative_generate
from models.devices import resolve_placement
from models.loading import load_checkpoint
from models.pair import ModelPair
from models.records import StopReason
from tests.models.micro import micro_model

CPU32 = resolve_placement("cpu", "float32")


def test_nan_logits_end_with_an_error_result_not_a_hang():
    target, draft = micro_model(8, seed=1), micro_model(8, seed=2)
    with torch.no_grad():
        target.lm_head.weight.fill_(float("nan"))
    out = speculative_generate(target, [0, 1], DraftModelProposer(draft, [0, 1], 8), FixedDraftLength(3),
                               Stops(20), lambda ids: "")
    assert out.stats.stop_reason == StopReason.ERROR and out.token_ids == ()


def test_cancellation_between_rounds():
    target, draft = micro_model(8, seed=1), micro_model(8, seed=2)
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) >= 3

    out = speculative_generate(target, [0, 1], DraftModelProposer(draft, [0, 1], 8), FixedDraftLength(2),
                               Stops(100, is_cancelled=cancelled), lambda ids: "")
    assert out.stats.stop_reason == StopReason.CANCELLED and out.stats.rounds == 2
    assert 0 < out.stats.new_tokens <= 1 + 2 * 3


def test_a_large_k_never_exceeds_max_new_tokens():
    target, draft = micro_model(8, seed=1), micro_model(8, seed=1)  # identical: all accepted
    for budget in (1, 2, 5, 9):
        out = speculative_generate(target, [0, 1], DraftModelProposer(draft, [0, 1], 8), FixedDraftLength(8),
                                   Stops(budget), lambda ids: "")
        assert out.stats.new_tokens == budget and out.stats.stop_reason == StopReason.MAX_TOKENS


def test_draft_prompt_beyond_the_draft_window_is_cut_from_the_left(tiny_pair):
    draft_dir, target_dir = tiny_pair
    pair = ModelPair(load_checkpoint("draft", draft_dir, CPU32), load_checkpoint("target", target_dir, CPU32))
    long_prompt = [1] + [5, 6, 7, 8] * 200  # 801 tokens; the tiny draft has 256 positions
    out = pair.generate(long_prompt, 8, draft_prompt_ids=long_prompt,
                        decoding=DecodingConfig(draft_tokens=3, source="model"))
    assert out.stats.new_tokens == 8 and out.stats.drafted > 0
    proposer = pair._proposer(long_prompt, long_prompt, 8, "model", Sampler())
    assert proposer.prompt_ids[0] == 1 and len(proposer.prompt_ids) <= 256 - 8 - MAX_DRAFT_TOKENS - 1
    assert proposer.prompt_ids[-4:] == long_prompt[-4:]


def test_min_new_tokens_keeps_an_end_token_from_ending_the_infill_early():
    target, draft = micro_model(8, seed=1), micro_model(8, seed=2)
    prompt = [0, 1]
    free = speculative_generate(target, prompt, DraftModelProposer(draft, prompt, 8), FixedDraftLength(2),
                                Stops(6), lambda ids: "")
    end = free.token_ids[0]  # make the target's favourite first token an end token
    ended = speculative_generate(target, prompt, DraftModelProposer(draft, prompt, 8), FixedDraftLength(2),
                                 Stops(6, {end}), lambda ids: "")
    forced = speculative_generate(target, prompt, DraftModelProposer(draft, prompt, 8), FixedDraftLength(2),
                                  Stops(6, {end}, min_new_tokens=1), lambda ids: "")
    assert ended.token_ids == () and ended.stats.stop_reason == StopReason.EOS
    assert forced.token_ids and forced.token_ids[0] != end
    reference = greedy_generate(target, prompt, Stops(6, {end}, min_new_tokens=1), lambda ids: "")
    assert forced.token_ids == reference.token_ids


def test_no_room_in_the_draft_window_falls_back_to_lookup(tiny_pair):
    draft_dir, target_dir = tiny_pair
    pair = ModelPair(load_checkpoint("draft", draft_dir, CPU32), load_checkpoint("target", target_dir, CPU32))
    prompt = [1, 5, 6, 7, 8]
    assert pair._proposer(prompt, prompt, 300, "combined", Sampler()).name == "lookup"  # 256 positions < 300 new
    out = pair.generate(prompt, 300, draft_prompt_ids=prompt, decoding=DecodingConfig(draft_tokens=3))
    assert out.stats.new_tokens == 300


def test_the_text_is_decoded_after_every_token_only_where_a_stop_rule_reads_it():
    target, draft = micro_model(8, seed=1), micro_model(8, seed=2)
    decoded = []

    def decode(ids):
        decoded.append(len(ids))
        return " ".join(map(str, ids))

    plain = speculative_generate(target, [0, 1], DraftModelProposer(draft, [0, 1], 8), FixedDraftLength(2),
                                 Stops(12), decode)
    assert decoded == [12] and plain.text == " ".join(map(str, plain.token_ids))
    decoded.clear()
    ruled = speculative_generate(target, [0, 1], DraftModelProposer(draft, [0, 1], 8), FixedDraftLength(2),
                                 Stops(12, should_stop=lambda text: False), decode)
    assert decoded == list(range(1, 13)) and ruled.token_ids == plain.token_ids and ruled.text == plain.text


def test_the_draft_step_leaves_out_the_catch_up_after_rounds_without_the_draft():
    draft = micro_model(8, seed=2)
    proposer = DraftModelProposer(draft, [0, 1], 8)
    first = proposer.propose([], 3)  # fed nothing yet: the last prompt position's logits are there
    assert first.steps == 2 and 0 < first.step_seconds <= first.seconds
    emitted = [*first.tokens, 5]  # accepted all three, then the target's bonus token
    steady = proposer.propose(emitted, 3)  # feeds the last draft token and the bonus: a step
    assert steady.steps == 3
    emitted = [*emitted, *steady.tokens[:1], 4, 6, 7, 1]  # a lookup round took these: one round's worth
    after_lookups = proposer.propose(emitted, 3)
    assert after_lookups.steps == 3
    emitted = [*emitted, *after_lookups.tokens[:1], *([2, 3, 4, 5] * 3)]  # 12 rounds at k = 0
    after_pause = proposer.propose(emitted, 3)  # a 13-token catch-up: a one-off, not a step
    assert after_pause.steps == 2 and after_pause.step_seconds < after_pause.seconds
    emitted = [*emitted, *after_pause.tokens, *([6, 7] * 6)]
    alone = proposer.propose(emitted, 1)  # k = 1 after a pause: no step at all
    assert alone.steps == 0 and alone.step_seconds == 0.0
