import threading

import torch

from models.devices import resolve_placement
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.loading import load_checkpoint
from models.records import StopReason


def _target(tiny_pair):
    return load_checkpoint("target", tiny_pair[1], resolve_placement("cpu", "float32"))


def _reference(model, prompt, steps):
    """Greedy without a cache: a full forward pass per token."""
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(steps):
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
    return ids[len(prompt):]


def _decode(tokenizer):
    return lambda ids: tokenizer.decode(ids)


def test_kv_cache_decoding_matches_full_recomputation(tiny_pair):
    loaded = _target(tiny_pair)
    prompt = [1] + loaded.tokenizer.encode("class Point:\n    def", add_special_tokens=False)
    result = greedy_generate(loaded.model, prompt, Stops(12), _decode(loaded.tokenizer))
    assert list(result.token_ids) == _reference(loaded.model, prompt, 12)
    assert result.stats.stop_reason == StopReason.MAX_TOKENS and result.stats.new_tokens == 12
    assert result.stats.target_passes == 12  # the prefill and 11 steps: the 12th token needs no forward
    assert result.text == loaded.tokenizer.decode(list(result.token_ids))


def test_end_token_stops_and_is_not_emitted(tiny_pair):
    loaded = _target(tiny_pair)
    prompt = [1, 5, 6, 7]
    reference = _reference(loaded.model, prompt, 10)
    # The first position whose token did not occur before it: generation must stop right there.
    end_at = next((k for k in range(1, 10) if reference[k] not in reference[:k]), 0)
    result = greedy_generate(loaded.model, prompt, Stops(10, end_ids={reference[end_at]}), _decode(loaded.tokenizer))
    assert list(result.token_ids) == reference[:end_at] and result.stats.stop_reason == StopReason.EOS


def test_stop_rule_sees_text_and_stops_at_that_token(tiny_pair):
    loaded = _target(tiny_pair)
    seen = []

    def stop(text):
        seen.append(text)
        return len(seen) == 4

    result = greedy_generate(loaded.model, [1, 9, 10], Stops(20, should_stop=stop), _decode(loaded.tokenizer))
    assert result.stats.stop_reason == StopReason.STOP_RULE and result.stats.new_tokens == 4
    assert seen[-1] == result.text


def test_cancel_flag_is_checked_between_tokens(tiny_pair):
    loaded = _target(tiny_pair)
    flag, calls = threading.Event(), []

    def cancelled():
        calls.append(1)
        if len(calls) == 3:
            flag.set()
        return flag.is_set()

    result = greedy_generate(loaded.model, [1, 9, 10], Stops(50, is_cancelled=cancelled), _decode(loaded.tokenizer))
    assert result.stats.stop_reason == StopReason.CANCELLED and result.stats.new_tokens == 2
