"""Micro Llama models (a handful of ids, no tokenizer) for exact distribution tests."""

from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def micro_model(vocab: int, seed: int, sharpness: float = 0.4) -> LlamaForCausalLM:
    """Random weights, with the output layer scaled so the distributions are far from uniform."""
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=64, bos_token_id=0,
                         eos_token_id=None, tie_word_embeddings=False)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(sharpness / model.lm_head.weight.std())
    return model


@torch.no_grad()
def next_probs(model, ids: list[int], temperature: float = 1.0) -> torch.Tensor:
    return torch.softmax(model(torch.tensor([ids])).logits[0, -1].float() / temperature, dim=-1)
