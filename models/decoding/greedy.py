"""Target-only greedy decoding with a KV cache, cancellable between tokens.

This is the reference decoder: the speculative engine must reproduce its output exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch

from models.decoding.forward import feeder
from models.decoding.generation import Continuation, Generation, Stops
from models.decoding.kv import new_cache
from models.decoding.sampling import argmax, mask_ids
from models.records import DecodeStats, StopReason


@torch.inference_mode()
def greedy_generate(model: torch.nn.Module, prompt_ids: Sequence[int], stops: Stops,
                    decode: Callable[[Sequence[int]], str]) -> Generation:
    """Generate after `prompt_ids` until one of `stops`."""
    feed = feeder(model)
    started = time.perf_counter()
    cache = new_cache(model)
    logits = feed(prompt_ids, cache, 1)[-1]
    prefill_done = time.perf_counter()
    out, stop, passes = Continuation(stops, decode), StopReason.MAX_TOKENS, 1
    while out.remaining() > 0:
        if stops.is_cancelled():
            stop = StopReason.CANCELLED
            break
        banned = out.banned()
        token = argmax(mask_ids(logits, banned) if banned else logits)
        stop = out.extend([token])
        if stop is not None:
            break
        logits = feed([token], cache)[-1]
        passes += 1
    finished = time.perf_counter()
    stats = DecodeStats(
        prompt_tokens=len(prompt_ids), new_tokens=len(out.tokens), target_passes=passes,
        target_seconds=finished - started, prefill_seconds=prefill_done - started,
        decode_seconds=finished - prefill_done, stop_reason=stop,
    )
    return Generation(tuple(out.tokens), out.text, stats)
