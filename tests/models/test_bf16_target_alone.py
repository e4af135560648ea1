"""In bfloat16 the two "target alone" references agree token for token: greedy.py (what
`tandem bench engine` compares with) and the speculative loop at draft length 0 (what the
server runs for `draftTokens: 0`, the eval's `target` configuration). Both read the prompt
in one forward and then step one token at a time, so they round alike; the divergence the
benchmarks report in bfloat16 is the verify pass of k+1 tokens, not a mismatched baseline."""

from __future__ import annotations

import pytest

from bench.prompts import held_out_prompts
from models.decoding.adaptive import FixedDraftLength
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.decoding.proposers import PromptLookupProposer
from models.decoding.speculative import speculative_generate
from models.devices import resolve_placement
from models.embedded import EMBEDDED_TARGET
from models.loading import load_checkpoint

NEW_TOKENS = 16


@pytest.fixture(scope="module")
def target():
    return load_checkpoint("target", EMBEDDED_TARGET, resolve_placement("cpu", "bfloat16"))


def test_target_alone_through_the_speculative_loop_is_greedy_in_bfloat16(target):
    decode = lambda ids: target.tokenizer.decode(list(ids))  # noqa: E731
    stops = Stops(NEW_TOKENS, {target.tokenizer.eos_token_id})
    for prompt in held_out_prompts(target.tokenizer, 3, 120, seed=3):  # < one prefill chunk: one forward
        reference = greedy_generate(target.model, prompt, stops, decode).token_ids
        alone = speculative_generate(target.model, prompt, PromptLookupProposer(prompt), FixedDraftLength(0),
                                     stops, decode).token_ids
        assert alone == reference
