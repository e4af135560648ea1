"""Decoding travels with each call: one loaded pair serves requests that decode differently,
and none leaks into the next; what is shared (caches, step costs) stays shared."""

import pytest

from models.config import DRAFT_SOURCES, DecodingConfig, PairSpec
from models.pair import ModelPair


@pytest.fixture(scope="module")
def pair(tiny_pair):
    draft_dir, target_dir = tiny_pair
    return ModelPair.load(PairSpec(str(draft_dir), str(target_dir), "cpu", "float32"))


@pytest.fixture(scope="module")
def prompt(pair):
    return [pair.bos_id, *pair.encode("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    ")]


def test_every_greedy_decoding_of_one_pair_is_the_target_alone(pair, prompt):
    alone = pair.generate(prompt, 16, decoding=DecodingConfig(draft_tokens=0)).token_ids
    for source in DRAFT_SOURCES:
        for draft_tokens in (1, 4, "auto"):
            out = pair.generate(prompt, 16, decoding=DecodingConfig(draft_tokens=draft_tokens, source=source))
            assert out.token_ids == alone, (source, draft_tokens)


def test_a_banned_first_token_gives_the_next_candidate_alike_for_every_decoding(pair, prompt):
    """The service's next candidate after one it could not show: the target's own greedy
    choice with the first token banned, which speculative decoding reproduces exactly (and,
    as the service asks, never an end token first)."""
    best = pair.generate(prompt, 12, min_new_tokens=1, decoding=DecodingConfig(draft_tokens=0)).token_ids
    banned = (best[0],)
    alone = pair.generate(prompt, 12, min_new_tokens=1, decoding=DecodingConfig(draft_tokens=0),
                          banned_first_ids=banned).token_ids
    assert alone[0] != best[0]
    for source in DRAFT_SOURCES:
        for draft_tokens in (1, 4, "auto"):
            decoding = DecodingConfig(draft_tokens=draft_tokens, source=source)
            out = pair.generate(prompt, 12, min_new_tokens=1, decoding=decoding, banned_first_ids=banned)
            assert out.token_ids == alone, (source, draft_tokens)
    banned_twice = (best[0], alone[0])
    third = pair.generate(prompt, 12, min_new_tokens=1, banned_first_ids=banned_twice).token_ids
    assert third[0] not in banned_twice
    # Only the first token is banned: the ban does not leak into later positions or calls.
    assert pair.generate(prompt, 12, min_new_tokens=1).token_ids == best


def test_a_seeded_sampled_request_repeats_between_greedy_ones(pair, prompt):
    # A fixed draft length: under "auto" the schedule follows measured times, and a
    # different k draws differently (same distribution, other tokens).
    sampled = DecodingConfig(draft_tokens=3, temperature=1.0, seed=3)
    first = pair.generate(prompt, 12, decoding=sampled)
    greedy = pair.generate(prompt, 12)
    assert pair.generate(prompt, 12, decoding=sampled).token_ids == first.token_ids
    assert pair.generate(prompt, 12).token_ids == greedy.token_ids


def test_adaptive_acceptance_per_kind_over_shared_step_costs(pair, prompt):
    greedy = pair.draft_length(DecodingConfig(source="model"))
    sampled = pair.draft_length(DecodingConfig(source="model", temperature=0.7))
    assert greedy is pair.draft_length(DecodingConfig(source="model", seed=1))  # the seed is not a kind
    assert greedy is not sampled and greedy.costs is sampled.costs is pair.step_costs
    pair.generate(prompt, 12, decoding=DecodingConfig(source="model"))
    assert pair.step_costs.target_step is not None


def test_user_text_that_spells_special_tokens_is_encoded_as_text(pair):
    for spelled in ("<PRE>", "<EOT>", "</s>", "<s>"):
        ids = pair.encode(f"x = '{spelled}'")
        assert pair.token_id(spelled) not in ids and pair.decode(ids) == f"x = '{spelled}'"
    assert pair.decode(pair.encode("a = '\ud83d'")) == "a = '\ufffd'"
