"""KV-cache bookkeeping shared by the decoders."""

from __future__ import annotations

from transformers import DynamicCache


def new_cache(model):
    """A fresh cache: the model's own preallocated one if it has one (StaticLlama)."""
    if hasattr(model, "new_cache"):
        return model.new_cache()
    return DynamicCache(config=model.config)


def rollback(cache: DynamicCache, keep: int) -> None:
    """Drop cached positions beyond the first `keep` (transformers 5 crops by a negative count)."""
    extra = cache.get_seq_length() - keep
    if extra > 0:
        cache.crop(-extra)
