"""Where draft tokens come from: a small draft model, an n-gram lookup in the context, or
both (lookup when it has a match, else the model).

Every proposer is asked for up to k tokens that follow `emitted`, the continuation accepted
so far; it keeps whatever state it needs in sync with that list by itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import torch

from models.config import MAX_DRAFT_TOKENS
from models.decoding.forward import Feed, Logits, feeder
from models.decoding.generation import Stops
from models.decoding.kv import rollback
from models.decoding.prefix_cache import PrefixCache, common_prefix
from models.decoding.sampling import Sampler, argmax, pad_vocab


# The most tokens one round adds (k accepted + the target's own): the draft feeds no more
# at the start of a round when it ran in the one before, or when only lookups did.
ROUND_CATCH_UP = MAX_DRAFT_TOKENS + 1


@dataclass
class Proposal:
    tokens: list[int]
    # q distributions (len(tokens) × target vocab) the tokens were drawn from; None means
    # a deterministic proposal (q is one-hot on each token).
    probs: torch.Tensor | None = None
    seconds: float = 0.0       # all time spent, the draft's prompt prefill included
    steps: int = 0             # the draft model's steady one-token forwards (0 for lookup) ...
    step_seconds: float = 0.0  # ... and their time: the per-token cost (DraftModelProposer.propose)
    source: str = "none"       # "model" | "lookup" (as in models.config.DRAFT_SOURCES)


class Proposer(Protocol):
    name: str  # one of models.config.DRAFT_SOURCES

    def propose(self, emitted: list[int], k: int) -> Proposal: ...

    def propose_free(self, emitted: list[int], k: int) -> Proposal:
        """Only what costs no model call (a lookup match), for rounds where drafting with
        the model would not pay."""

    def release(self) -> None:
        """The request is over (keep reusable state, drop the rest)."""


@dataclass
class DraftModelProposer:
    """The draft model reads its own prompt (left context in its vocabulary), then the
    shared continuation. Its cache holds prompt + `fed`; it rolls back to the longest
    common prefix with `emitted` and feeds the rest in one forward.

    Its prompt's prefill counts against the request's deadline like the target's: when
    the deadline (or a cancellation) comes first, the draft sits this request out (it
    proposes nothing, so the target decodes alone, with the very same output) and the
    chunks it read stay in `prefix_cache` for the next request."""
    model: torch.nn.Module
    prompt_ids: list[int]
    target_vocab: int
    sampler: Sampler = Sampler()  # the request's: q is shaped exactly as the target's p
    name: str = "model"
    unknown_id: int = 0
    fed: list[int] = field(default_factory=list)
    # The draft's cache from the previous request, reused where the prompts agree.
    prefix_cache: PrefixCache = field(default_factory=PrefixCache)
    stops: Stops = Stops(0)  # the request's: only its deadline and cancel flag are read here
    sat_out: bool = False    # its prefill was cut short: no drafts this request
    _cache: object = None
    _logits: Logits | None = None  # next-token logits after prompt + fed
    _feed: Feed | None = None

    def _known(self, ids: list[int]) -> list[int]:
        # An id only the target has (a special token it chose to emit) must never reach the
        # draft's embedding table; the draft reads its unknown id there instead.
        vocab = self.model.get_input_embeddings().num_embeddings
        return [i if i < vocab else self.unknown_id for i in ids]

    def _forward(self, ids: list[int]) -> None:
        if self._feed is None:
            self._feed = feeder(self.model)
        self._logits = self._feed(self._known(ids), self._cache, 1)[-1]

    @torch.inference_mode()
    def propose(self, emitted: list[int], k: int) -> Proposal:
        started = time.perf_counter()
        if self.sat_out:
            return Proposal([])
        if self._cache is None:
            cache, logits, _ = self.prefix_cache.prefill(self.model, self.prompt_ids, self._known,
                                                         self.stops.deadline, self.stops.is_cancelled)
            if logits is None:
                self.sat_out = True
                return Proposal([], None, time.perf_counter() - started)
            self._cache, self._logits = cache, logits[0]
        keep = common_prefix(self.fed, emitted)
        # The draft's per-token cost is what its rounds cost while it takes part in every
        # round: k forwards, the first feeding what the last round added (timed as a step),
        # and the argmax or draw of each token. A catch-up longer than one round adds (it
        # sat out rounds at k = 0; a probe always follows such a pause) is a one-off and
        # stays out of the per-token cost, or a draft that is only probed would look 3-5
        # times dearer than it is and never be judged to pay.
        step_seconds, steps = 0.0, 0
        if not keep == len(self.fed) == len(emitted):
            if keep == len(emitted):  # nothing new to feed, but the logits must be recomputed
                keep -= 1             # at the last emitted position: re-feed that one token
            prompt_length = len(self.prompt_ids)
            rollback(self._cache, prompt_length + keep)
            catch_up = (self.prompt_ids + emitted)[prompt_length + keep:]
            tick = time.perf_counter()
            self._forward(catch_up)
            if len(catch_up) <= ROUND_CATCH_UP:
                step_seconds, steps = time.perf_counter() - tick, 1
            self.fed = list(emitted)
        drafting = time.perf_counter()
        graphed = getattr(self.model, "graphed", None)
        if graphed is not None and self.sampler.greedy:  # graphs for k = 1..MAX_DRAFT_TOKENS
            tokens, self._logits = graphed.run(self._logits, k)  # the loop on the device, one sync
            self.fed.extend(tokens[:-1])
            return self._proposal(tokens, None, started, drafting, steps + k - 1, step_seconds)
        tokens, dists = [], []
        for i in range(k):
            if self.sampler.greedy:  # padding adds -inf only: the argmax is among the draft's ids
                token = argmax(self._logits)
            else:
                q = self.sampler.probs(pad_vocab(self._logits, self.target_vocab))
                token = self.sampler.draw(q)
                dists.append(q)
            tokens.append(token)
            if i < k - 1:  # the last draft token is fed next round, if it is accepted
                self._forward([token])
                self.fed.append(token)
        probs = torch.stack(dists) if dists else None
        return self._proposal(tokens, probs, started, drafting, steps + k - 1, step_seconds)

    @staticmethod
    def _proposal(tokens: list[int], probs, started: float, drafting: float, steps: int,
                  catch_up_seconds: float) -> Proposal:
        """`steps` one-token forwards: a counted catch-up's and the drafting loop's time
        (none where a k = 1 round had only an uncounted catch-up)."""
        finished = time.perf_counter()
        step_seconds = catch_up_seconds + finished - drafting if steps else 0.0
        return Proposal(tokens, probs, finished - started, steps, step_seconds, "model")

    def propose_free(self, emitted: list[int], k: int) -> Proposal:
        return Proposal([])

    def release(self) -> None:
        """The request is over: the cache holds the prompt and what was fed after it."""
        if self._cache is not None:
            self.prefix_cache.record([*self.prompt_ids, *self.fed])
            self._cache = None


@dataclass
class PromptLookupProposer:
    """Copy what followed the latest earlier occurrence of the context's last n tokens
    (n from max_ngram down to min_ngram). Code repeats itself; this costs no model call."""
    context_ids: list[int]
    max_ngram: int = 3
    min_ngram: int = 1
    name: str = "lookup"

    def propose(self, emitted: list[int], k: int) -> Proposal:
        started = time.perf_counter()
        history = self.context_ids + emitted
        for n in range(min(self.max_ngram, len(history) - 1), self.min_ngram - 1, -1):
            tail, best = history[-n:], []
            # Latest match first (nearby code predicts best), but a match whose continuation
            # runs into the tail itself is short: keep looking for one with k tokens.
            for start in range(len(history) - n - 1, -1, -1):
                if history[start:start + n] == tail:
                    follow = history[start + n:start + n + k]
                    if len(follow) > len(best):
                        best = follow
                    if len(best) == k:
                        break
            if best:
                return Proposal(best, None, time.perf_counter() - started, source="lookup")
        return Proposal([], None, time.perf_counter() - started)

    def propose_free(self, emitted: list[int], k: int) -> Proposal:
        return self.propose(emitted, k)

    def release(self) -> None:
        pass


@dataclass
class CombinedProposer:
    """Lookup when it finds a match, else the draft model."""
    lookup: PromptLookupProposer
    draft: DraftModelProposer
    name: str = "combined"

    def propose(self, emitted: list[int], k: int) -> Proposal:
        proposal = self.lookup.propose(emitted, k)
        return proposal if proposal.tokens else self.draft.propose(emitted, k)

    def propose_free(self, emitted: list[int], k: int) -> Proposal:
        return self.lookup.propose(emitted, k)

    def release(self) -> None:
        self.draft.release()
