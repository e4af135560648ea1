"""How many tokens to draft each round.

Fixed k when the user sets a number. `auto` picks the k that maximises expected tokens
per second, E(α,k) / (k·t_draft + t_verify(k)), with E = (1 − α^(k+1)) / (1 − α) tokens
per target pass (Leviathan et al. 2023), from running estimates of the per-token
acceptance α, the draft step time and the time of a verify pass of each length. k = 0
(target alone) wins when drafting cannot pay; a cheap probe round now and then keeps α
fresh, ever more rarely while probes change nothing (one may cost the draft its prefill).
Rounds at k = 0 may still verify a few lookup tokens (no model call), as many as the
lookup's own α pays for against the longer pass.

The step costs (`StepCosts`) belong to the models and the hardware, so a pair shares one;
acceptance depends on how a request decodes, so the pair keeps one AdaptiveDraftLength per
kind of decoding over those shared costs (see `ModelPair.draft_length`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.config import MAX_DRAFT_TOKENS
from models.decoding.proposers import Proposal

DECAY = 0.9      # weight of history in the running estimates
PROBE_EVERY = 16  # rounds at k = 0 before a probe; doubled after each probe that
MAX_PROBE_EVERY = 256  # changed nothing, up to this (a probe may cost the draft's prefill)
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
    request's decoding, so one StepCosts serves every AdaptiveDraftLength of a pair.

    A verify pass of n tokens is timed per n: how its cost grows with n is the engine's
    (measured here: on llama.cpp a 5-token pass of the embedded target costs 1.6 one-token
    steps in float32 but 3.9 in q8_0; PyTorch in bfloat16 about 1.1), so it is learned
    from the passes this pair has run, not assumed."""
    draft_step: float | None = None   # seconds per draft forward
    verify: dict[int, float] = field(default_factory=dict)  # seconds per pass of n tokens
    prior_growth: float = 0.1  # per extra token, until a pass of more than one is timed
    # What a one-token pass costs over a steady one right after a longer pass: llama.cpp
    # builds its graph again whenever a batch's size changes (0.2-0.3 ms against a 1.5 ms
    # step of the embedded target, measured), so every longer round pays it once more on
    # the way back; PyTorch's is about 0. Kept out of `verify[1]`, which it would inflate.
    switch_back: float | None = None
    _last_length: int = field(default=1, repr=False, compare=False)
    # v(n) by n until the next update (every round asks for each k): `verify` changes only there.
    _ratios: dict[int, float] = field(default_factory=dict, repr=False, compare=False)

    @property
    def target_step(self) -> float | None:
        """Seconds per 1-token target pass."""
        return self.verify.get(1)

    def cost_ratio(self) -> float | None:
        """c = draft step time / target step time, once both are measured."""
        if self.draft_step is None or self.target_step is None:
            return None
        return self.draft_step / self.target_step

    def verify_ratio(self, n: int) -> float:
        """v(n) = a pass of n tokens / a one-token pass: measured, or from the growth per
        token of the nearest size measured (the prior before any)."""
        if n not in self._ratios:
            self._ratios[n] = self._verify_ratio(n)
        return self._ratios[n]

    def _verify_ratio(self, n: int) -> float:
        if n <= 1 or not self.target_step:
            return 1.0
        if n in self.verify:
            return self.verify[n] / self.target_step
        measured = [m for m in self.verify if m > 1]
        if not measured:
            return 1.0 + self.prior_growth * (n - 1)
        nearest = min(measured, key=lambda m: (abs(m - n), m))
        growth = max(0.0, (self.verify[nearest] / self.target_step - 1) / (nearest - 1))
        return 1.0 + growth * (n - 1)

    def update(self, proposal: Proposal, verify_seconds: float) -> None:
        if proposal.steps:
            self.draft_step = _ema(self.draft_step, proposal.step_seconds / proposal.steps)
        n = len(proposal.tokens) + 1
        if n == 1 and self._last_length > 1 and self.target_step is not None:
            self.switch_back = _ema(self.switch_back, max(0.0, verify_seconds - self.target_step))
        else:
            self.verify[n] = _ema(self.verify.get(n), verify_seconds)
        self._last_length = n
        self._ratios.clear()

    def switch_ratio(self) -> float:
        """The switch back to one-token passes, in one-token steps."""
        return self.switch_back / self.target_step if self.switch_back and self.target_step else 0.0


@dataclass
class Acceptance:
    """A running per-token acceptance estimate: runs of successes, each ended by at most
    one rejection."""
    accepted: float = 3.0  # prior: α = 0.6 over a few tokens
    rejected: float = 2.0

    @property
    def alpha(self) -> float:
        return self.accepted / (self.accepted + self.rejected)

    def update(self, drafted: int, accepted: int) -> None:
        if drafted:
            self.accepted = DECAY * self.accepted + accepted
            self.rejected = DECAY * self.rejected + (accepted < drafted)


@dataclass
class Probe:
    """When a source judged not to pay gets a short trial anyway, to keep its α fresh:
    after `every` rounds without it, `every` doubling (to MAX_PROBE_EVERY) while trials
    change nothing, back to PROBE_EVERY once the source pays again."""
    every: int = PROBE_EVERY
    waited: int = 0

    def choose(self, best: int, limit: int) -> int:
        """`best` (tokens the estimates say pay), or a 2-token trial when one is due."""
        if best > 0:
            self.every = PROBE_EVERY
        elif limit > 0:
            self.waited += 1
            if self.waited >= self.every:
                self.waited = 0
                self.every = min(2 * self.every, MAX_PROBE_EVERY)
                return min(2, limit)
        return best


@dataclass
class AdaptiveDraftLength:
    """The acceptance estimates of one kind of decoding (the draft model's and the
    lookup's, apart), over the shared `costs`."""
    k_max: int = MAX_DRAFT_TOKENS
    model: Acceptance = field(default_factory=Acceptance)
    lookup: Acceptance = field(default_factory=Acceptance)
    costs: StepCosts = field(default_factory=StepCosts)
    model_probe: Probe = field(default_factory=Probe)
    lookup_probe: Probe = field(default_factory=Probe)

    @property
    def alpha(self) -> float:
        return self.model.alpha

    def best_k(self, alpha: float, limit: int, step_cost: float) -> int:
        """The k in 0..limit with the most expected tokens per unit of target-step time,
        E(α,k) / (v(k+1) + k·step_cost + switch back), where k = 0 (a plain step) rates 1;
        the smallest k on a tie. `step_cost`: c for the draft model, 0 for lookups. Asked
        every round, so the sum E is grown term by term instead of from the formula."""
        costs = self.costs
        switch = costs.switch_ratio()
        best, best_rate, expected, power = 0, 1.0, 1.0, 1.0
        for k in range(1, limit + 1):
            power *= alpha
            expected += power
            rate = expected / (costs.verify_ratio(k + 1) + k * step_cost + switch)
            if rate > best_rate:
                best, best_rate = k, rate
        return best

    def choose(self, remaining: int) -> int:
        limit = max(0, min(self.k_max, remaining - 1))
        if self.costs.target_step is None:
            return 0  # one plain step first: it measures the target's step time
        c = self.costs.cost_ratio()
        return self.model_probe.choose(self.best_k(self.model.alpha, limit, 0.1 if c is None else c), limit)

    def free_tokens(self, remaining: int) -> int:
        """Lookup tokens to try in a round where the draft model does not pay: as many as
        pay for their longer verify pass (none where verifying costs nearly a step per
        token; a lookup costs no model call), with a short probe now and then to keep the
        lookup's α fresh."""
        limit = max(0, min(FREE_LOOKUP_TOKENS, remaining - 1))
        return self.lookup_probe.choose(self.best_k(self.lookup.alpha, limit, 0.0), limit)

    def update(self, proposal: Proposal, accepted: int, verify_seconds: float) -> None:
        estimate = self.lookup if proposal.source == "lookup" else self.model
        estimate.update(len(proposal.tokens), accepted)
        self.costs.update(proposal, verify_seconds)


def _ema(old: float | None, new: float) -> float:
    return new if old is None else DECAY * old + (1 - DECAY) * new
