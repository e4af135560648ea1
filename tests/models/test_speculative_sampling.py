"""Sampling through the speculative engine has the target's distribution (Leviathan et
al. 2023): checked with a chi-square test over the first three tokens (the second comes
from accepting or resampling, the third often from the bonus draw), including a draft
whose vocabulary is smaller than the target's (padding) and a deterministic lookup
proposal. A negative control shows the test does reject a wrong rule."""

from __future__ import annotations

import itertools

import pytest
import torch
from scipy.stats import chisquare

from models.decoding.adaptive import FixedDraftLength
from models.decoding.generation import Stops
from models.decoding.proposers import DraftModelProposer, PromptLookupProposer
from models.decoding.sampling import Sampler, SamplingParams, to_probs
from models.decoding.speculative import speculative_generate
from tests.models.micro import micro_model, next_probs

TARGET_VOCAB, DRAFT_VOCAB = 6, 4
PROMPT = [0, 3, 1]
SAMPLES = 1500
LENGTH = 3
PARAMS = SamplingParams(temperature=1.0)


@pytest.fixture(scope="module")
def micro_pair():
    return micro_model(TARGET_VOCAB, seed=11), micro_model(DRAFT_VOCAB, seed=12)


def target_joint(target) -> dict[tuple[int, ...], float]:
    """Exact probability of every 3-token continuation under the target."""
    joint = {}
    for a, b in itertools.product(range(TARGET_VOCAB), repeat=2):
        ab = float(next_probs(target, PROMPT)[a] * next_probs(target, PROMPT + [a])[b])
        third = next_probs(target, PROMPT + [a, b])
        for c in range(TARGET_VOCAB):
            joint[(a, b, c)] = ab * float(third[c])
    return joint


def sample_pairs(target, make_proposer, k: int, seed: int) -> dict[tuple[int, int], int]:
    sampler = Sampler(PARAMS, torch.Generator().manual_seed(seed))
    counts = dict.fromkeys(itertools.product(range(TARGET_VOCAB), repeat=LENGTH), 0)
    for _ in range(SAMPLES):
        out = speculative_generate(target, PROMPT, make_proposer(sampler), FixedDraftLength(k), Stops(LENGTH),
                                   lambda ids: "", sampler)
        counts[out.token_ids] += 1
    return counts


def chi_square_p(counts: dict, joint: dict) -> float:
    keys = [key for key in joint if joint[key] * SAMPLES >= 5]  # chi-square needs expected ≥ 5
    rest = [key for key in joint if key not in keys]
    observed = [counts[key] for key in keys] + [sum(counts[key] for key in rest)]
    expected = [joint[key] * SAMPLES for key in keys] + [sum(joint[key] for key in rest) * SAMPLES]
    total = sum(observed)
    expected = [e * total / sum(expected) for e in expected]
    return chisquare(observed, expected).pvalue


def test_draft_proposals_reproduce_the_target_distribution(micro_pair):
    target, draft = micro_pair
    counts = sample_pairs(target, lambda s: DraftModelProposer(draft, PROMPT, TARGET_VOCAB, s), 1, 1)
    assert chi_square_p(counts, target_joint(target)) > 0.001
    # the draft can never propose ids it lacks, yet the target still produces them
    assert sum(n for tokens, n in counts.items() if max(tokens[1:]) >= DRAFT_VOCAB) > 0


def test_deterministic_lookup_proposals_reproduce_the_target_distribution(micro_pair):
    target, _ = micro_pair
    counts = sample_pairs(target, lambda s: PromptLookupProposer([0, 1, 2, 3, 1, 2, 5, 3, 1, 4]), 2, 2)
    assert chi_square_p(counts, target_joint(target)) > 0.001


def test_the_test_rejects_accepting_every_draft_token(micro_pair, monkeypatch):
    """Negative control: always accepting the draft gives the draft's distribution."""
    import models.decoding.speculative as speculative
    target, draft = micro_pair
    original = speculative.verify

    def accept_all(proposal, logits, sampler):
        if proposal.tokens:
            return len(proposal.tokens) - 1, proposal.tokens[-1]
        return original(proposal, logits, sampler)

    monkeypatch.setattr(speculative, "verify", accept_all)
    counts = sample_pairs(target, lambda s: DraftModelProposer(draft, PROMPT, TARGET_VOCAB, s), 2, 3)
    assert chi_square_p(counts, target_joint(target)) < 1e-6


def test_top_k_and_top_p_shape_both_distributions_alike():
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])
    probs = to_probs(logits, SamplingParams(temperature=1.0, top_k=2))
    assert (probs[2:] == 0).all() and torch.isclose(probs.sum(), torch.tensor(1.0))
    probs = to_probs(logits, SamplingParams(temperature=1.0, top_p=0.5))
    assert probs[0] == 1.0  # the top token alone already holds ≥ 50 % of the mass
