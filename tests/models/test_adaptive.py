import pytest

from models.config import MAX_DRAFT_TOKENS
from models.decoding.adaptive import (Acceptance, AdaptiveDraftLength, FixedDraftLength, StepCosts,
                                      expected_tokens)
from models.decoding.proposers import Proposal


def test_expected_tokens_formula():
    assert expected_tokens(0.0, 5) == 1.0
    assert abs(expected_tokens(0.5, 2) - 1.75) < 1e-9
    assert expected_tokens(1.0, 4) == 5.0


def test_fixed_length_never_exceeds_the_remaining_budget():
    assert FixedDraftLength(8).choose(remaining=3) == 2
    assert FixedDraftLength(8).choose(remaining=1) == 0


def test_the_longest_draft_has_one_owner():
    assert AdaptiveDraftLength().k_max == MAX_DRAFT_TOKENS
    with pytest.raises(ValueError, match=f"0..{MAX_DRAFT_TOKENS}"):
        FixedDraftLength(MAX_DRAFT_TOKENS + 1)


def measured(alpha_accepted: float, draft_step: float, target_step: float, growth: float = 0.0,
             lookup_alpha: float = 0.6) -> AdaptiveDraftLength:
    """A policy whose estimates are already settled: verify passes of n tokens cost
    1 + growth·(n − 1) one-token steps."""
    costs = StepCosts(draft_step, {n: target_step * (1 + growth * (n - 1)) for n in range(1, 10)})
    return AdaptiveDraftLength(model=Acceptance(alpha_accepted * 100, (1 - alpha_accepted) * 100),
                               lookup=Acceptance(lookup_alpha * 100, (1 - lookup_alpha) * 100), costs=costs)


def test_first_round_measures_the_target_alone():
    assert AdaptiveDraftLength().choose(remaining=50) == 0


def test_cheap_accurate_drafts_draft_long():
    assert measured(0.9, draft_step=0.001, target_step=0.1).choose(50) >= 6


def test_costly_or_poor_drafts_fall_back_to_the_target_alone():
    assert measured(0.3, draft_step=0.05, target_step=0.1).choose(50) == 0
    assert measured(0.95, draft_step=0.2, target_step=0.1).choose(50) == 0


def test_a_policy_at_zero_probes_now_and_then_to_refresh_alpha():
    policy = measured(0.1, draft_step=0.05, target_step=0.1)
    choices = [policy.choose(50) for _ in range(40)]
    assert 0 < sum(1 for k in choices if k > 0) <= 3


def test_updates_move_alpha_and_costs():
    policy = AdaptiveDraftLength()
    policy.update(Proposal([]), accepted=0, verify_seconds=0.1)
    before = policy.alpha
    for _ in range(20):
        policy.update(Proposal([1, 2, 3, 4], steps=4, step_seconds=0.004, source="model"), 4, 0.12)
    assert policy.alpha > before and abs(policy.costs.cost_ratio() - 0.01) < 1e-6
    assert abs(policy.costs.verify_ratio(5) - 1.2) < 1e-6


def test_lookup_rounds_move_the_lookups_acceptance_not_the_draft_models():
    policy = AdaptiveDraftLength()
    alpha, lookup_alpha = policy.alpha, policy.lookup.alpha
    policy.update(Proposal([1, 2, 3], source="lookup"), accepted=0, verify_seconds=0.1)
    assert policy.alpha == alpha and policy.lookup.alpha < lookup_alpha
    assert policy.costs.target_step is None and policy.costs.verify[4] == 0.1


def test_kinds_of_decoding_learn_their_own_acceptance_over_shared_costs():
    costs = StepCosts()
    greedy, sampled = AdaptiveDraftLength(costs=costs), AdaptiveDraftLength(costs=costs)
    greedy.update(Proposal([]), accepted=0, verify_seconds=0.1)
    for _ in range(10):
        greedy.update(Proposal([1, 2, 3, 4], steps=4, step_seconds=0.004, source="model"), 4, 0.12)
    assert sampled.costs.target_step == 0.1 and sampled.costs.cost_ratio() == greedy.costs.cost_ratio()
    assert greedy.alpha > sampled.alpha == AdaptiveDraftLength().alpha


def test_only_adaptive_tries_free_lookup_tokens():
    assert AdaptiveDraftLength().free_tokens(remaining=10) == 4
    assert FixedDraftLength(0).free_tokens(remaining=10) == 0


def test_free_lookup_tokens_stop_where_verifying_costs_a_step_per_token():
    """llama.cpp's q8_0 embedded target: a 2-token pass costs 2.1 one-token steps, so no
    lookup pays, whatever its α (measured: tandem bench engine lost 23 % to such rounds);
    a cheap verify (PyTorch, bfloat16) keeps them."""
    steep = measured(0.3, draft_step=0.05, target_step=0.1, growth=1.0, lookup_alpha=0.9)
    choices = [steep.free_tokens(remaining=50) for _ in range(40)]
    assert choices.count(0) >= 37 and max(choices) <= 2  # only the rare probe
    assert measured(0.3, 0.05, 0.1, growth=0.05, lookup_alpha=0.6).free_tokens(remaining=50) == 4


def test_probes_that_change_nothing_come_ever_more_rarely():
    policy = measured(0.1, draft_step=0.05, target_step=0.1)
    choices = [policy.choose(50) for _ in range(2000)]
    probes = [i for i, k in enumerate(choices) if k > 0]
    gaps = [b - a for a, b in zip(probes, probes[1:])]
    assert gaps[:4] == [32, 64, 128, 256] and set(gaps[4:]) == {256}


def test_the_verify_cost_of_an_unmeasured_length_follows_the_nearest_measured_one():
    costs = StepCosts(verify={1: 0.1})
    assert abs(costs.verify_ratio(5) - 1.4) < 1e-9  # the prior growth, 0.1 per token
    costs.update(Proposal([1, 2]), verify_seconds=0.2)  # a 3-token pass: two steps' time
    assert abs(costs.verify_ratio(3) - 2.0) < 1e-9 and abs(costs.verify_ratio(5) - 3.0) < 1e-9


def test_a_steep_verify_makes_even_an_accurate_cheap_draft_wait():
    """Where a pass of k+1 tokens costs k+1 steps, drafting cannot pay: E ≤ k + 1."""
    assert measured(0.9, draft_step=0.001, target_step=0.1, growth=1.0).choose(50) == 0
    assert measured(0.9, draft_step=0.001, target_step=0.1, growth=0.1).choose(50) >= 4


def test_the_cost_of_switching_back_to_one_token_passes_is_learned_apart():
    """A one-token pass right after a longer one pays llama.cpp's graph rebuild; it is the
    switch's cost, not the steady step's."""
    costs = StepCosts(verify={1: 0.1})
    costs.update(Proposal([1]), verify_seconds=0.15)  # a 2-token pass
    costs.update(Proposal([]), verify_seconds=0.13)   # back to one token: 0.03 over a step
    costs.update(Proposal([]), verify_seconds=0.1)    # steady again
    assert costs.target_step == 0.1
    assert abs(costs.switch_back - 0.03) < 1e-9 and abs(costs.switch_ratio() - 0.3) < 1e-9


def test_a_switch_cost_stops_lookups_that_only_the_longer_pass_would_pay_for():
    """Lookups at α 0.5 over a pass that grows 0.35 a token pay (E(0.5, 1) = 1.5 > 1.35)
    until each longer round also costs 0.3 of a step to switch back (1.5 < 1.65)."""
    cheap = measured(0.3, 0.05, 0.1, growth=0.35, lookup_alpha=0.5)
    assert cheap.free_tokens(remaining=50) > 0
    cheap.costs.switch_back = 0.03
    cheap.costs._ratios.clear()
    assert cheap.free_tokens(remaining=50) == 0
