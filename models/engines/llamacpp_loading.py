"""Loading a checkpoint onto the llama.cpp engine: its GGUF file (written once from the
safetensors, see gguf_export) in a llama.cpp context, never the torch weights. Anything
that stops it (an architecture the writer does not know, a file llama.cpp refuses) loads
the checkpoint on transformers instead, with the reason: a faster engine is never worth
no completions."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import AutoConfig, PreTrainedTokenizerBase

from models.devices import Placement
from models.engines.acceleration import STATIC_WINDOW, Engine, fallback
from models.engines.gguf_export import GGUFError, write_gguf
from models.engines.llamacpp_backend import LlamaCppCausalLM
from models.loading import LoadedModel, check_checkpoint_dir, load_checkpoint


def load_llamacpp(role: str, path: Path, placement: Placement, tokenizer: PreTrainedTokenizerBase,
                  parameters: int, weight_type: Callable[[int], str]) -> tuple[LoadedModel, Engine]:
    """The model in `path` on llama.cpp in `weight_type(parameters)` weights, and its Engine."""
    check_checkpoint_dir(role, path)
    started = time.perf_counter()
    weights = weight_type(parameters)
    threads = torch.get_num_threads()
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True, trust_remote_code=False)
        # llama.cpp preallocates its KV cache: CodeLlama's 16k positions would cost 8.6 GB.
        window = min(int(getattr(config, "max_position_embeddings", 0) or tokenizer.model_max_length),
                     STATIC_WINDOW)
        gguf = write_gguf(path, config, weights, parameters)
        model = LlamaCppCausalLM(gguf, config, parameters, window, threads, weights)
    except (GGUFError, RuntimeError, OSError, ValueError) as error:
        loaded = load_checkpoint(role, path, placement, tokenizer)
        return loaded, fallback(loaded, "llama.cpp", str(error) if isinstance(error, GGUFError)
                                else f"{type(error).__name__}: {error}")
    loaded = LoadedModel(role=role, path=path, model=model, tokenizer=tokenizer, placement=placement,
                         vocab_size=model.vocab_size, context_window=min(window, model.context_window),
                         load_seconds=time.perf_counter() - started)
    exactness = "" if model.batch_invariant else (
        "; this llama.cpp was built with llamafile's batch kernels, so a verify pass can round apart from "
        "one-token steps at near-ties (`make llamacpp` builds without them)")
    layout = " (repacked: a batch checked equal to one-token steps)" if model.repacked else ""
    return loaded, Engine("llamacpp", f"llama.cpp on the CPU, {weights} weights{layout}, {threads} threads{exactness}; "
                                      f"{gguf}")
