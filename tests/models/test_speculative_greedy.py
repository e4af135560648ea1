"""Greedy speculative decoding is token-for-token the target's own greedy decoding
(float32), on held-out standard-library code with the embedded pair: every draft length,
every proposer, plain and fill-in-the-middle target prompts, and stops inside runs."""

from __future__ import annotations

import random

import pytest
import torch

from models.decoding.adaptive import AdaptiveDraftLength, FixedDraftLength
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.decoding.kv import new_cache, rollback
from models.decoding.proposers import CombinedProposer, DraftModelProposer, PromptLookupProposer
from models.decoding.speculative import speculative_generate
from models.devices import resolve_placement
from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET
from models.loading import load_checkpoint
from models.records import StopReason
from training import corpus

PROMPTS = 50
NEW_TOKENS = 16
CPU32 = resolve_placement("cpu", "float32")


@pytest.fixture(scope="module")
def pair():
    return load_checkpoint("draft", EMBEDDED_DRAFT, CPU32), load_checkpoint("target", EMBEDDED_TARGET, CPU32)


@pytest.fixture(scope="module")
def prompts(pair):
    """(target prompt, draft prompt) pairs: half plain left context, half FIM."""
    _, target = pair
    tok = target.tokenizer
    pre, suf, mid = (tok.convert_tokens_to_ids(t) for t in ("<PRE>", "<SUF>", "<MID>"))
    rng = random.Random(7)
    files = [f.text for f in corpus.load_split(held_out=True) if len(f.text) > 3000]
    result = []
    for i in range(PROMPTS):
        text = rng.choice(files)
        cursor = rng.randrange(1000, len(text) - 1000)
        prefix = tok.encode(text[cursor - 1000:cursor], add_special_tokens=False)[-150:]
        draft_prompt = [tok.bos_token_id, *prefix]
        if i % 2:
            suffix = tok.encode(text[cursor:cursor + 400], add_special_tokens=False)[:50]
            result.append(([tok.bos_token_id, pre, suf, *suffix, mid, *prefix], draft_prompt))
        else:
            result.append((draft_prompt, draft_prompt))
    return result


def _decode(target):
    return lambda ids: target.tokenizer.decode(list(ids))


@pytest.fixture(scope="module")
def references(pair, prompts):
    _, target = pair
    eot = target.tokenizer.convert_tokens_to_ids("<EOT>")
    return [greedy_generate(target.model, p, Stops(NEW_TOKENS, {2, eot}), _decode(target)).token_ids
            for p, _ in prompts]


def make_proposer(kind, pair, target_prompt, draft_prompt):
    draft, target = pair
    lookup = PromptLookupProposer([i for i in target_prompt if i < draft.vocab_size])
    model = DraftModelProposer(draft.model, draft_prompt, target.vocab_size)
    return {"draft": model, "lookup": lookup, "combined": CombinedProposer(lookup, model)}[kind]


@pytest.mark.parametrize("kind", ["draft", "lookup", "combined"])
@pytest.mark.parametrize("k", [1, 3, 5, 8])
def test_identical_to_target_greedy(pair, prompts, references, kind, k):
    _, target = pair
    eot = target.tokenizer.convert_tokens_to_ids("<EOT>")
    mismatches = []
    for index, ((target_prompt, draft_prompt), reference) in enumerate(zip(prompts, references)):
        out = speculative_generate(target.model, target_prompt, make_proposer(kind, pair, target_prompt, draft_prompt),
                                   FixedDraftLength(k), Stops(NEW_TOKENS, {2, eot}), _decode(target))
        if out.token_ids != reference:
            mismatches.append(index)
    assert mismatches == []


def test_adaptive_draft_length_is_identical_too(pair, prompts, references):
    _, target = pair
    eot = target.tokenizer.convert_tokens_to_ids("<EOT>")
    policy = AdaptiveDraftLength()
    for (target_prompt, draft_prompt), reference in zip(prompts, references):
        out = speculative_generate(target.model, target_prompt,
                                   make_proposer("combined", pair, target_prompt, draft_prompt),
                                   policy, Stops(NEW_TOKENS, {2, eot}), _decode(target))
        assert out.token_ids == reference


def test_a_stop_inside_an_accepted_run_cuts_at_that_token(pair, prompts):
    _, target = pair
    decode = _decode(target)
    for target_prompt, draft_prompt in prompts[:10]:
        full = greedy_generate(target.model, target_prompt, Stops(NEW_TOKENS), decode)
        if len(full.token_ids) < 6:
            continue
        cut_text = decode(full.token_ids[:5])
        stop = lambda text, cut_text=cut_text: len(text) >= len(cut_text)  # noqa: E731
        out = speculative_generate(target.model, target_prompt,
                                   make_proposer("lookup", pair, target_prompt, draft_prompt),
                                   FixedDraftLength(8), Stops(NEW_TOKENS, should_stop=stop), decode)
        expected = greedy_generate(target.model, target_prompt, Stops(NEW_TOKENS, should_stop=stop), decode)
        assert out.token_ids == expected.token_ids and out.stats.stop_reason == StopReason.STOP_RULE


@torch.no_grad()
def test_rollback_leaves_the_cache_of_the_accepted_prefix(pair, prompts):
    """After a rejected round, the next step's logits equal a fresh forward over the accepted text."""
    _, target = pair
    prompt = list(prompts[0][0])
    cache = new_cache(target.model)
    target.model(input_ids=torch.tensor([prompt]), cache=cache)
    rejected_round = [5, 6, 7, 8, 9]  # the newest token plus four drafts; keep the first two
    target.model(input_ids=torch.tensor([rejected_round]), cache=cache)
    rollback(cache, len(prompt) + 2)
    step = target.model(input_ids=torch.tensor([[42]]), cache=cache).logits[0, -1]
    fresh = target.model(input_ids=torch.tensor([prompt + rejected_round[:2] + [42]])).logits[0, -1]
    torch.testing.assert_close(step, fresh, rtol=1e-4, atol=1e-4)


@torch.no_grad()
def test_draft_resyncs_after_its_proposals_are_rejected(pair, prompts):
    draft, target = pair
    _, draft_prompt = prompts[0]
    proposer = DraftModelProposer(draft.model, list(draft_prompt), target.vocab_size)
    first = proposer.propose([100], 4)
    emitted = [100, first.tokens[0], (first.tokens[1] + 1) % 8000]  # second draft token rejected
    proposer.propose(emitted, 1)
    fresh = draft.model(input_ids=torch.tensor([list(draft_prompt) + emitted])).logits[0, -1]
    torch.testing.assert_close(proposer._logits, fresh, rtol=1e-4, atol=1e-4)
