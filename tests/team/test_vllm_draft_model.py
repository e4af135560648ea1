"""Real vLLM (the CPU build, `make vllm`) serving the embedded target with the embedded draft
padded to the target's vocabulary (`tandem prepare-draft`) through its `draft_model`
speculative method: vLLM takes the padded draft, its greedy completions equal Tandem's own
greedy decoding token for token, its drafts are really proposed and accepted, and the API
key is enforced. One server for the session (tests/team/conftest.py)."""

from __future__ import annotations

import time

import pytest

PROMPTS = (
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "import os\n\n\ndef list_python_files(root):\n    result = []\n    for name in os.listdir(root):\n",
    "class Counter:\n    def __init__(self):\n        self.count = 0\n\n    def increment(self):\n",
)
MAX_TOKENS = 48
BOS, EOS = 1, 2


@pytest.fixture(scope="module")
def local_pair():
    """Tandem's own embedded pair on the transformers engine, float32 like the server."""
    from models.config import PairSpec
    from models.pair import ModelPair

    return ModelPair.load(PairSpec("", "", "auto", "float32", "transformers", "auto"))


def local_greedy(pair, prompt_ids: list[int]) -> list[int]:
    from models.decoding.generation import Stops
    from models.decoding.greedy import greedy_generate

    return list(greedy_generate(pair.target.model, prompt_ids, Stops(MAX_TOKENS, {EOS}), pair.decode).token_ids)


def test_vllm_loaded_the_padded_draft(vllm_server):
    log = vllm_server.log_path.read_text(errors="replace")
    assert "method='draft_model'" in log and str(vllm_server.draft_dir) in log, vllm_server.log_tail()
    assert "Loading drafter model" in log, vllm_server.log_tail()
    print(f"vLLM answered after {vllm_server.start_seconds:.0f} s; log: {vllm_server.log_path}")


@pytest.mark.parametrize("prompt", PROMPTS, ids=("fibonacci", "listdir", "counter"))
def test_greedy_equals_tandem_local_greedy(vllm_server, local_pair, prompt):
    prompt_ids = [BOS] + list(local_pair.encode(prompt))
    expected = local_greedy(local_pair, prompt_ids)
    choice = vllm_server.complete(prompt_ids, MAX_TOKENS, stop_ids=(EOS,))["choices"][0]
    assert expected, "the local greedy decoding produced nothing to compare"
    assert list(choice["token_ids"]) == expected, (
        f"vLLM: {local_pair.decode(choice['token_ids'])!r}\nTandem: {local_pair.decode(expected)!r}")


def test_drafts_are_proposed_and_accepted(vllm_server, local_pair):
    before = vllm_server.metrics()
    vllm_server.complete([BOS] + list(local_pair.encode(PROMPTS[0])), MAX_TOKENS)
    deadline = time.monotonic() + 10  # the counters follow the response within an engine step
    while True:
        after = vllm_server.metrics()
        grown = {name: after[name] - before[name] for name in after}
        if grown["vllm:spec_decode_num_drafts_total"] > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    drafts = grown["vllm:spec_decode_num_drafts_total"]
    drafted = grown["vllm:spec_decode_num_draft_tokens_total"]
    accepted = grown["vllm:spec_decode_num_accepted_tokens_total"]
    assert drafts > 0 and drafted >= drafts, grown
    assert 0 < accepted <= drafted, grown
    # since the start, over every test so far, too
    assert 0 < after["vllm:spec_decode_num_accepted_tokens_total"] <= after["vllm:spec_decode_num_draft_tokens_total"]


@pytest.mark.parametrize("api_key", (None, "not-the-key"), ids=("no key", "wrong key"))
def test_requests_without_the_api_key_are_refused(vllm_server, api_key):
    body = {"model": vllm_server.model, "prompt": [BOS, 3], "max_tokens": 1, "temperature": 0}
    status, _ = vllm_server.request("/v1/completions", body, api_key=api_key)
    assert status == 401
    status, _ = vllm_server.request("/v1/models", api_key=api_key)
    assert status == 401
