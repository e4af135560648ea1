"""How many tokens to draft each round.

Fixed k when the user sets a number. `auto` picks the k that maximises expected tokens
per second, E(α,k) / (k·t_draft + t_verify(k)), with E = (1 − α^(k+1)) / (1 − α) tokens
per target pass (Leviathan et al. 2023), from running estimates of the per-token
acceptance α, the draft step time and the verify time's growth with k. k = 0 (target
alone) wins when drafting cannot pay; a cheap probe round now and then keeps α fresh.

The step costs (`StepCosts`) belong to the models and the hardware, so a pair shares one;
acceptance depends on how a request decodes, so the pair keeps one AdaptiveDraftLength per
kind of decoding over those shared costs (see `ModelPair.draft_length`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.config import MAX_DRAFT_TOKENS
from models.decoding.proposers import Proposal

DECAY = 0.9      # weight of history in the running estimates
PROBE_EVERY = 16  # rounds at k = 0 between probes
FREE_LOOKUP_TOKENS = 4


def expected_tokens(alpha: float, k: int) -> float:
    if alpha >= 1.0:
        return k + 1.0
    return (1 - alpha ** (k + 1)) / (1 - alpha)


@dataclass
class FixedDraftLength:
    k: int

    def __post_init__(self) -> None:
        if not 0 <= self.k <= MAX_DRAFT_TOKENS:
            raise ValueError(f"draft length must be 0..{MAX_DRAFT_TOKENS}, got {self.k}")

    def choose(self, remaining: int) -> int:
        return max(0, min(self.k, remaining - 1))

    def free_tokens(self, remaining: int) -> int:
        return 0  # a fixed k means exactly that: k = 0 is the target alone

    def update(self, proposal: Proposal, accepted: int, verify_seconds: float) -> None:
        pass


@dataclass
class StepCosts:
    """What a step costs: properties of the models and the hardware, the same whatever a
    request's decoding, so one StepCosts serves every AdaptiveDraftLength of a pair."""
    draft_step: float | None = None   # seconds per draft forward
    target_step: float | None = None  # seconds per 1-token target pass
    verify_growth: float = 0.1  # fractional verify-time growth per extra token

    def cost_ratio(self) -> float | None:
        """c = draft step time / target step time, once both are measured."""
        if self.draft_step is None or self.target_step is None:
            return None
        return self.draft_step / self.target_step

    def update(self, proposal: Proposal, verify_seconds: float) -> None:
        drafted = len(proposal.tokens)
        if proposal.steps:
            self.draft_step = _ema(self.draft_step, proposal.step_seconds / proposal.steps)
        if drafted == 0:
            self.target_step = _ema(self.target_step, verify_seconds)
        elif self.target_step:
            growth = (verify_seconds / self.target_step - 1) / drafted
            self.verify_growth = DECAY * self.verify_growth + (1 - DECAY) * max(0.0, growth)


@dataclass
class AdaptiveDraftLength:
    """The acceptance estimate of one kind of decoding, over the shared `costs`."""
    k_max: int = MAX_DRAFT_TOKENS
    accepted: float = 3.0       # prior: α = 0.6 over a few tokens
    rejected: float = 2.0
    costs: StepCosts = field(default_factory=StepCosts)
    rounds_at_zero: int = 0

    @property
    def alpha(self) -> float:
        return self.accepted / (self.accepted + self.rejected)

    def rate(self, k: int) -> float:
        """Expected tokens per unit of target-step time when drafting k."""
        if k == 0:
            return 1.0
        c = self.costs.cost_ratio()
        c = 0.1 if c is None else c
        return expected_tokens(self.alpha, k) / (k * c + 1 + self.costs.verify_growth * k)

    def choose(self, remaining: int) -> int:
        limit = max(0, min(self.k_max, remaining - 1))
        if self.costs.target_step is None:
            return 0  # one plain step first: it measures the target's step time
        best = max(range(limit + 1), key=self.rate)
        if best == 0 and limit > 0:
            self.rounds_at_zero += 1
            if self.rounds_at_zero >= PROBE_EVERY:
                self.rounds_at_zero = 0
                return min(2, limit)
        return best

    def free_tokens(self, remaining: int) -> int:
        """Lookup tokens to try when the model draft does not pay (they cost no model call)."""
        return max(0, min(FREE_LOOKUP_TOKENS, remaining - 1))

    def update(self, proposal: Proposal, accepted: int, verify_seconds: float) -> None:
        drafted = len(proposal.tokens)
        if proposal.source == "lookup":
            return  # a lookup proposal: free, and its acceptance says nothing of the model's
        if drafted:
            # Acceptance is a run of successes ended by at most one rejection.
            self.accepted = DECAY * self.accepted + accepted
            self.rejected = DECAY * self.rejected + (accepted < drafted)
        self.costs.update(proposal, verify_seconds)


def _ema(old: float | None, new: float) -> float:
    return new if old is None else DECAY * old + (1 - DECAY) * new
