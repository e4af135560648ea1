"""A causal LM run by llama.cpp (through llama-cpp-python's bindings of its C API), called
by the decoders through `forward_ids` (models/decoding/forward.py: lists in, numpy logits
out, no torch on the per-token path), and like a torch model by tools: `model(input_ids=…,
cache=…, logits_to_keep=…)`.

Why: on a CPU, PyTorch eager spends most of a small model's step in framework overhead;
llama.cpp's step is a few fused C kernels (tandem bench engine measures both). Tandem's
own loop stays in charge: speculative verification, proposers, stop rules, cancellation,
prefix reuse; llama.cpp only runs forwards.

One llama.cpp context per model, holding one sequence: the KV cache lives there, and the
cache object the decoders hold is a view of it (its length; `crop` removes positions from
the context, llama.cpp's rollback by position). As with StaticLlama, `new_cache()` resets
it, so a model has one live cache; an older one raises instead of reading wrong state.
Each batch marks the positions whose logits it wants: a verify pass of k+1 tokens gets
k+1 rows, a prefill chunk only its last.
"""

from __future__ import annotations

import ctypes
import importlib.util
from pathlib import Path

import numpy as np
import torch

from models.engines.onnx_backend import EmbeddingShape
from models.engines.static_llama import StaticOutput
from models.errors import DeviceError

BATCH = 512  # tokens per llama_decode call at most; longer inputs go in pieces
# Exactness: a verify pass (k+1 tokens) must round like the one-token steps of greedy
# decoding. llamafile's tinyBLAS (a build option) does not for any batch of 2 or more, so
# `make llamacpp` builds without it (see batch_invariant). llama.cpp's repacked weight
# layouts run other kernels for batches than for one token: for q8_0 they were found to
# agree bit for bit (embedded target and 7B width, batches of 2-9) and run a 7B-width
# step 15 % faster, for q4_0 not (2e-6 apart), so only q8_0 is repacked, and only after a
# probe at load finds a batch equal to its one-token steps (rounds_alike).
REPACK_EXACT = frozenset({"q8_0"})
INSTALL_HINT = ("the llama.cpp engine needs the `llama-cpp-python` package, which compiles llama.cpp "
                "(about 15 minutes on 2 cores): pip install 'tandem-code[llamacpp]' or `make llamacpp`")


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def require() -> None:
    if not available():
        raise DeviceError(INSTALL_HINT)


_backend_ready = False


@ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
def _quiet(level, text, user_data):
    """llama.cpp's log lines would flood the server's stderr (its protocol channel in stdio mode)."""


def init_llama_cpp():
    """llama-cpp-python's module, its backend initialised once and its logs silenced (the
    quantizer and the loader print a line per tensor otherwise)."""
    global _backend_ready
    import llama_cpp
    if not _backend_ready:
        llama_cpp.llama_log_set(_quiet, None)
        llama_cpp.llama_backend_init()
        _backend_ready = True
    return llama_cpp


def batch_invariant() -> bool:
    """Whether this llama.cpp computes a batch's rows as it computes one token (no tinyBLAS)."""
    return b"LLAMAFILE = 1" not in init_llama_cpp().llama_print_system_info()


class LlamaCppKV:
    """The positions a llama.cpp context holds for its one sequence. It answers the two calls
    the decoders make of a cache: `get_seq_length()` and `crop(n)` (a negative n drops -n
    positions, as transformers 5 does)."""

    def __init__(self, owner: "LlamaCppCausalLM"):
        self.owner = owner
        self.length = 0

    def get_seq_length(self) -> int:
        return self.length

    @property
    def stale(self) -> bool:
        """Whether the model's context went to a newer cache (what this one held is gone)."""
        return self.owner._live is not self

    def crop(self, n: int) -> None:
        keep = max(0, self.length + n) if n < 0 else min(self.length, n)
        if keep < self.length:
            self.owner.forget_from(self, keep)


class LlamaCppCausalLM:
    def __init__(self, path: Path, config, parameters: int, context_window: int, threads: int,
                 weight_type: str, extra_buffers: bool | None = None):
        """`extra_buffers`: llama.cpp's repacked weight layouts; None = where exact
        (REPACK_EXACT, confirmed by a probe at load, else off); True = as llama.cpp ships,
        for measuring its own plain decode."""
        lib = init_llama_cpp()
        self._lib = lib
        self.path = path
        self.weight_type = weight_type  # the GGUF's (models.config.WEIGHT_TYPES)
        self.config = config
        self.parameter_count = parameters
        self._open(path, context_window, threads,
                   weight_type in REPACK_EXACT if extra_buffers is None else extra_buffers)
        if extra_buffers is None and self.repacked and not self.rounds_alike():
            self._close_context()
            self._open(path, context_window, threads, False)

    def _open(self, path: Path, context_window: int, threads: int, extra_buffers: bool) -> None:
        lib = self._lib
        self.repacked = extra_buffers
        model_params = lib.llama_model_default_params()
        model_params.n_gpu_layers = 0
        model_params.use_extra_bufts = extra_buffers
        self._model = lib.llama_model_load_from_file(str(path).encode(), model_params)
        if not self._model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        context_params = lib.llama_context_default_params()
        context_params.n_ctx = context_window
        context_params.n_batch = context_params.n_ubatch = BATCH
        context_params.n_seq_max = 1
        context_params.n_threads = context_params.n_threads_batch = threads
        context_params.no_perf = True
        # Measured on 2 cores (embedded target, 200 cached positions): flash attention costs
        # 4-20 % per decode call at every batch size from 1 to 9 and weight type (f32-q4_0).
        context_params.flash_attn_type = 0  # LLAMA_FLASH_ATTN_TYPE_DISABLED
        self._ctx = lib.llama_init_from_model(self._model, context_params)
        if not self._ctx:
            lib.llama_model_free(self._model)
            raise RuntimeError(f"llama.cpp could not make a context of {context_window} positions for {path}")
        self.context_window = lib.llama_n_ctx(self._ctx)
        self.batch_invariant = batch_invariant()
        self.vocab_size = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(self._model))
        self._memory = lib.llama_get_memory(self._ctx)
        self._batch = lib.llama_batch_init(BATCH, 0, 1)
        self._embeddings = EmbeddingShape(self.vocab_size)
        self._live: LlamaCppKV | None = None
        self._view_address: int | None = None
        self._view: np.ndarray | None = None

    def get_input_embeddings(self) -> EmbeddingShape:
        return self._embeddings

    def parameters(self):
        yield torch.empty(self.parameter_count, device="meta")

    def new_cache(self) -> LlamaCppKV:
        self._lib.llama_memory_clear(self._memory, True)
        self._live = LlamaCppKV(self)
        return self._live

    def forget_from(self, cache: LlamaCppKV, keep: int) -> None:
        self._check(cache)
        self._lib.llama_memory_seq_rm(self._memory, 0, keep, -1)
        cache.length = keep

    def _check(self, cache: LlamaCppKV) -> None:
        if cache.stale:
            raise RuntimeError("this llama.cpp cache was replaced by a newer one (one live cache per model)")

    def __call__(self, input_ids: torch.Tensor, cache: LlamaCppKV | None = None, use_cache: bool = True,
                 logits_to_keep: int = 0, **unused) -> StaticOutput:
        """As a torch model is called (for tools that measure or probe it): `input_ids` is
        1 × T, the logits 1 × rows × vocab, float32 on the CPU."""
        cache = cache if cache is not None else self.new_cache()
        return StaticOutput(torch.from_numpy(self.forward_ids(input_ids[0].tolist(), cache, logits_to_keep))[None])

    def forward_ids(self, ids: list[int], cache: LlamaCppKV, logits_to_keep: int = 0) -> np.ndarray:
        """What the decoders call (models/decoding/forward.py): feed `ids` after the cache's
        positions; the logits of the last `logits_to_keep` positions (0 = all), rows × vocab,
        a float32 array of their own (llama.cpp's buffer is overwritten by the next call)."""
        self._check(cache)
        wanted_from = len(ids) - logits_to_keep if logits_to_keep else 0
        rows = []
        for start in range(0, len(ids), BATCH):
            piece = ids[start:start + BATCH]
            outputs = self._decode(cache, piece, max(0, wanted_from - start))
            if outputs:
                rows.append(self._logits_view()[:outputs].copy())
        if len(rows) == 1:
            return rows[0]
        return np.concatenate(rows) if rows else np.zeros((0, self.vocab_size), dtype=np.float32)

    def _logits_view(self) -> np.ndarray:
        """The context's logits buffer (BATCH rows at most) as an array, made again only
        when llama.cpp moves the buffer (numpy's ctypes view costs 0.05 ms to build)."""
        address = ctypes.cast(self._lib.llama_get_logits(self._ctx), ctypes.c_void_p).value
        if self._view_address != address:
            self._view = np.ctypeslib.as_array((ctypes.c_float * (BATCH * self.vocab_size)).from_address(address))
            self._view = self._view.reshape(BATCH, self.vocab_size)
            self._view_address = address
        return self._view

    def _decode(self, cache: LlamaCppKV, piece: list[int], first_output: int) -> int:
        """One llama_decode of `piece` at the cache's next positions; how many rows of logits."""
        batch, base = self._batch, cache.length
        for i, token in enumerate(piece):
            batch.token[i] = token
            batch.pos[i] = base + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = i >= first_output
        batch.n_tokens = len(piece)
        status = self._lib.llama_decode(self._ctx, batch)
        if status != 0:
            # Whatever the failed call left behind goes: the cache holds what it held before.
            self._lib.llama_memory_seq_rm(self._memory, 0, base, -1)
            raise RuntimeError(f"llama.cpp decode failed (status {status}) at position {base} "
                               f"with {len(piece)} tokens (context {self.context_window})")
        cache.length = base + len(piece)
        return max(0, len(piece) - first_output)

    def rounds_alike(self) -> bool:
        """Whether a batch of tokens gets logits bit for bit equal to its one-token steps
        (what lossless speculative decoding needs), probed after a short context."""
        context, batch = list(range(3, 11)), list(range(11, 15))
        cache = self.new_cache()
        self(input_ids=torch.tensor([context]), cache=cache, logits_to_keep=1)
        together = self(input_ids=torch.tensor([batch]), cache=cache).logits[0]
        cache.crop(len(context))
        alone = torch.cat([self(input_ids=torch.tensor([[token]]), cache=cache).logits[0] for token in batch])
        self.new_cache()
        return torch.equal(together, alone)

    def _close_context(self) -> None:
        self._lib.llama_batch_free(self._batch)
        self._lib.llama_free(self._ctx)
        self._lib.llama_model_free(self._model)
        self._ctx = self._model = None
        self._view_address = self._view = None

    def close(self) -> None:
        if getattr(self, "_ctx", None):
            self._close_context()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass
