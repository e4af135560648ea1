"""One forward of a model in a decoder: feed token ids after what a cache holds, get the
logits of the last positions. Every decoder and prefill goes through `feeder`.

Logits come back as rows × vocab: a torch tensor from a torch model, a numpy array from an
engine that offers `forward_ids` (llama.cpp). Why the second kind: a llama.cpp step of the
embedded target is 0.7-2 ms, and building an input tensor, wrapping the output and torch's
dispatch on one row cost 3-4 % of it, measured side by side with llama.cpp's own loop. The
helpers in models/decoding/sampling.py take either kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

Logits = torch.Tensor | np.ndarray
Feed = Callable[..., Logits]  # (ids, cache, logits_to_keep=0) -> rows × vocab


def feeder(model) -> Feed:
    """`feed(ids, cache, logits_to_keep=0)`: the logits of the last `logits_to_keep`
    positions (0 = all) after feeding `ids` at the cache's next positions."""
    native = getattr(model, "forward_ids", None)
    if native is not None:
        return native
    device = model.get_input_embeddings().weight.device

    def feed(ids: Sequence[int], cache, logits_to_keep: int = 0) -> torch.Tensor:
        inputs = torch.tensor([list(ids)], dtype=torch.long, device=device)
        return model(input_ids=inputs, cache=cache, use_cache=True, logits_to_keep=logits_to_keep).logits[0]

    return feed
