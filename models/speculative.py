"""Speculative decoding: a proposer drafts k tokens, the target verifies them in one pass.

Greedy output is token-for-token the target's own greedy output; with sampling the output
distribution is the target's (Leviathan et al. 2023, "Fast Inference from Transformers
via Speculative Decoding", alg. 1; Chen et al. 2023). The target's cache always holds the
prompt and the accepted continuation except `current`, the newest token, which is fed at
the start of the next round together with the draft.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import torch

from models.generation import (
    STOP_CANCELLED, STOP_EOS, STOP_ERROR, STOP_MAX_TOKENS, STOP_RULE, Generation, GenerationStats,
)
from models.kv import rollback
from models.prefix_cache import PrefixCache
from models.proposers import Proposal, Proposer
from models.sampling import SamplingParams, mask_ends, residual, sample, to_probs


@dataclass(frozen=True)
class SpeculativeStats(GenerationStats):
    rounds: int = 0
    drafted: int = 0
    accepted: int = 0
    target_passes: int = 0
    draft_steps: int = 0           # tokens drafted by the model ...
    draft_step_seconds: float = 0.0  # ... and their time, prompt prefill excluded
    draft_seconds: float = 0.0
    target_seconds: float = 0.0

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.drafted if self.drafted else None

    @property
    def tokens_per_pass(self) -> float | None:
        return self.new_tokens / self.target_passes if self.target_passes else None

    @property
    def overhead_seconds(self) -> float:
        return max(0.0, self.prefill_seconds + self.decode_seconds - self.draft_seconds - self.target_seconds)


def verify(proposal: Proposal, target_logits: torch.Tensor, params: SamplingParams,
           generator: torch.Generator | None) -> tuple[int, int]:
    """(accepted draft tokens, next token) given the target's logits at the k+1 positions."""
    drafted = proposal.tokens
    if params.greedy:
        choices = target_logits.argmax(dim=-1).tolist()
        accepted = 0
        while accepted < len(drafted) and drafted[accepted] == choices[accepted]:
            accepted += 1
        return accepted, choices[accepted]  # the correction, or the bonus after k matches
    p = to_probs(target_logits, params)
    for i, token in enumerate(drafted):
        q_token = proposal.probs[i, token] if proposal.probs is not None else 1.0
        # accept x ~ q with probability min(1, p(x) / q(x))
        if torch.rand((), generator=generator, device=p.device) * q_token < p[i, token]:
            continue
        q = proposal.probs[i] if proposal.probs is not None else torch.nn.functional.one_hot(
            torch.tensor(token, device=p.device), p.shape[-1]).float()
        return i, sample(residual(p[i], q), generator)
    return len(drafted), sample(p[len(drafted)], generator)


@torch.inference_mode()
def speculative_generate(
    target: torch.nn.Module,
    prompt_ids: Sequence[int],
    proposer: Proposer,
    draft_length,  # FixedDraftLength | AdaptiveDraftLength
    max_new_tokens: int,
    end_ids: Collection[int],
    decode: Callable[[Sequence[int]], str],
    should_stop: Callable[[str], bool] = lambda text: False,
    is_cancelled: Callable[[], bool] = lambda: False,
    params: SamplingParams = SamplingParams(),
    generator: torch.Generator | None = None,
    min_new_tokens: int = 0,
    prefix_cache: PrefixCache | None = None,
) -> Generation:
    """`prefix_cache`, when given, supplies the target's cache from the previous request
    (only the new part of the prompt is prefilled) and keeps it for the next one."""
    prefix_cache = prefix_cache if prefix_cache is not None else PrefixCache()
    try:
        return _generate(target, prompt_ids, proposer, draft_length, max_new_tokens, end_ids, decode,
                         should_stop, is_cancelled, params, generator, min_new_tokens, prefix_cache)
    except BaseException:
        prefix_cache.forget()  # a forward may have stopped halfway: trust nothing in it
        raise


def _generate(target, prompt_ids, proposer, draft_length, max_new_tokens, end_ids, decode, should_stop,
              is_cancelled, params, generator, min_new_tokens, prefix_cache: PrefixCache) -> Generation:
    device = target.get_input_embeddings().weight.device
    started = time.perf_counter()
    # Only the last position's logits are needed: skipping the rest saves a quarter of a
    # 200-token prefill on a CPU.
    cache, logits, reused = prefix_cache.prefill(target, prompt_ids)
    prefill_seconds = time.perf_counter() - started
    emitted: list[int] = []
    text, stop_reason = "", None
    rounds = drafted_total = accepted_total = passes = 0
    draft_seconds = target_seconds = 0.0
    draft_steps, draft_step_seconds = 0, 0.0

    def emit(tokens: list[int]) -> str | None:
        """Append tokens one by one, honouring every stop at its exact token."""
        nonlocal text
        for token in tokens:
            if token in end_ids:
                return STOP_EOS
            emitted.append(token)
            text = decode(emitted)
            if should_stop(text):
                return STOP_RULE
            if len(emitted) >= max_new_tokens:
                return STOP_MAX_TOKENS
        return None

    if not torch.isfinite(logits).all():
        stop_reason = STOP_ERROR
    else:
        if min_new_tokens > 0:
            logits = mask_ends(logits, end_ids)
        first = int(logits[0].argmax()) if params.greedy else sample(to_probs(logits[0], params), generator)
        stop_reason = emit([first]) if max_new_tokens > 0 else STOP_MAX_TOKENS
    while stop_reason is None:
        if is_cancelled():
            stop_reason = STOP_CANCELLED
            break
        k = draft_length.choose(max_new_tokens - len(emitted))
        if k > 0:
            proposal = proposer.propose(emitted, k)
        else:  # drafting does not pay now; a lookup match is still free (adaptive only)
            free = draft_length.free_tokens(max_new_tokens - len(emitted))
            proposal = proposer.propose_free(emitted, free) if free else Proposal([])
        tick = time.perf_counter()
        # Verify: feed the newest token plus the draft; logits at all k+1 positions.
        inputs = torch.tensor([[emitted[-1], *proposal.tokens]], device=device)
        cached = cache.get_seq_length()
        logits = target(input_ids=inputs, cache=cache, use_cache=True).logits[0]
        if not torch.isfinite(logits).all():
            stop_reason = STOP_ERROR
            break
        early = min_new_tokens - len(emitted)  # rows whose token may not be an end token
        if early > 0:
            logits = torch.cat([mask_ends(logits[:early], end_ids), logits[early:]])
        accepted, following = verify(proposal, logits, params, generator)
        rollback(cache, cached + 1 + accepted)  # keep the newest token and the accepted run
        verify_seconds = time.perf_counter() - tick
        rounds, passes = rounds + 1, passes + 1
        drafted_total += len(proposal.tokens)
        accepted_total += accepted
        draft_seconds += proposal.seconds
        draft_steps += proposal.steps
        draft_step_seconds += proposal.step_seconds
        target_seconds += verify_seconds
        draft_length.update(proposal, accepted, verify_seconds)
        stop_reason = emit([*proposal.tokens[:accepted], following])

    prefix_cache.record([*prompt_ids, *emitted])
    finished = time.perf_counter()
    stats = SpeculativeStats(
        prompt_tokens=len(prompt_ids), new_tokens=len(emitted), prefill_seconds=prefill_seconds,
        decode_seconds=finished - started - prefill_seconds, stop_reason=stop_reason,
        rounds=rounds, drafted=drafted_total, accepted=accepted_total, target_passes=passes + 1,
        draft_steps=draft_steps, draft_step_seconds=draft_step_seconds, draft_seconds=draft_seconds,
        target_seconds=target_seconds + prefill_seconds, reused_prompt_tokens=reused,
    )
    return Generation(tuple(emitted), text, stats)
