"""Target-only greedy decoding with a KV cache, cancellable between tokens.

This is the reference decoder: the speculative engine must reproduce its output exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence

import torch

from models.kv import new_cache
from models.sampling import mask_ends
from models.generation import (
    STOP_CANCELLED, STOP_EOS, STOP_MAX_TOKENS, STOP_RULE, Generation, GenerationStats,
)


@torch.inference_mode()
def greedy_generate(
    model: torch.nn.Module,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    end_ids: Collection[int],
    decode: Callable[[Sequence[int]], str],
    should_stop: Callable[[str], bool] = lambda text: False,
    is_cancelled: Callable[[], bool] = lambda: False,
    min_new_tokens: int = 0,
) -> Generation:
    """Generate up to `max_new_tokens` after `prompt_ids`; end ids are not part of the output
    and cannot end it before `min_new_tokens`."""
    device = model.get_input_embeddings().weight.device
    started = time.perf_counter()
    cache = new_cache(model)
    inputs = torch.tensor([list(prompt_ids)], dtype=torch.long, device=device)
    logits = model(input_ids=inputs, cache=cache, use_cache=True, logits_to_keep=1).logits[0, -1]
    prefill_done = time.perf_counter()
    generated: list[int] = []
    stop_reason, text = STOP_MAX_TOKENS, ""
    while len(generated) < max_new_tokens:
        if is_cancelled():
            stop_reason = STOP_CANCELLED
            break
        token = int(torch.argmax(mask_ends(logits, end_ids) if len(generated) < min_new_tokens else logits))
        if token in end_ids:
            stop_reason = STOP_EOS
            break
        generated.append(token)
        text = decode(generated)
        if should_stop(text):
            stop_reason = STOP_RULE
            break
        if len(generated) == max_new_tokens:
            break
        step = torch.tensor([[token]], dtype=torch.long, device=device)
        logits = model(input_ids=step, cache=cache, use_cache=True).logits[0, -1]
    finished = time.perf_counter()
    stats = GenerationStats(
        prompt_tokens=len(prompt_ids), new_tokens=len(generated),
        prefill_seconds=prefill_done - started, decode_seconds=finished - prefill_done,
        stop_reason=stop_reason,
    )
    return Generation(tuple(generated), text, stats)
