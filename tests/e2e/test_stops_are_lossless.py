"""The completion's stop rules (block ends, brackets, degenerate repetition) are checked on
the text generated so far, which greedy speculative decoding and the target alone produce
token for token alike: the same suggestion, cut at the same place, for the same reason.

Real embedded pair, real CompletionService, positions in the demo file and in held-out
standard-library files (where the tiny models loop most)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from completion.service import CompletionOptions, CompletionRequest, CompletionService
from models.config import DecodingConfig, PairSpec
from models.pair import ModelPair
from training import corpus

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


@pytest.fixture(scope="module")
def service() -> CompletionService:
    return CompletionService(ModelPair.load(PairSpec()))


def positions() -> list[tuple[str, str, int]]:
    """(name, text, offset): every line end of the demo, and line starts in held-out files."""
    demo = DEMO.read_text()
    found = [(f"demo:{n}", demo, demo.index("\n", start)) for n, start in
             enumerate(i + 1 for i, c in enumerate(demo) if c == "\n" and i + 1 < len(demo))
             if demo.find("\n", start) > start]
    rng = random.Random(0)
    files = [f.text for f in corpus.load_split(held_out=True) if 2000 < len(f.text) < 12000][:6]
    for number, text in enumerate(files):
        starts = [i + 1 for i, c in enumerate(text) if c == "\n" and text[i + 1:i + 9] == " " * 8]
        for offset in rng.sample(starts, min(4, len(starts))):
            found.append((f"held-out {number}:{offset}", text, offset + 8))
    return found


def test_speculative_suggestions_are_the_target_alones_stops_included(service):
    options = CompletionOptions(max_new_tokens=96)
    reasons = set()
    cases = positions()
    assert len(cases) >= 30
    for name, text, offset in cases:
        alone = service.complete(CompletionRequest(text, offset, replace(
            options, decoding=DecodingConfig(draft_tokens=0))))
        speculative = service.complete(CompletionRequest(text, offset, options))
        assert (speculative.text, speculative.decode.stop_reason) == (alone.text, alone.decode.stop_reason), name
        assert speculative.decode.new_tokens == alone.decode.new_tokens, name
        reasons.add(alone.decode.stop_reason)
    # Not a vacuous comparison: some generations were ended by the stop rules.
    assert any(reason.value == "stop-rule" for reason in reasons), reasons
