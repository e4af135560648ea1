"""Checks every engine must pass against transformers' own forward."""

from __future__ import annotations

import torch


@torch.inference_mode()
def assert_matches_torch_across_chunks_and_rollback(reference, target, **tolerance) -> None:
    """`target` (a LoadedModel on some engine) gives `reference`'s logits fed in two chunks,
    and again after rolling four positions back and feeding them once more."""
    ids = torch.tensor([reference.tokenizer.encode("def fib(n):\n    if n < 2:\n        return n\n    return",
                                                   add_special_tokens=False)])
    expected = reference.model(input_ids=ids).logits
    cache = target.model.new_cache()
    torch.testing.assert_close(target.model(input_ids=ids[:, :9], cache=cache).logits, expected[:, :9], **tolerance)
    torch.testing.assert_close(target.model(input_ids=ids[:, 9:], cache=cache).logits, expected[:, 9:], **tolerance)
    cache.crop(-4)
    assert cache.get_seq_length() == ids.shape[1] - 4
    last = target.model(input_ids=ids[:, -4:], cache=cache, logits_to_keep=1).logits
    assert last.shape == (1, 1, target.vocab_size)
    torch.testing.assert_close(last, expected[:, -1:], **tolerance)
