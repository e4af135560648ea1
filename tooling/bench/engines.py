"""`tandem bench engine --engines …`: every engine side by side on the same held-out prompts,
and llama.cpp's own plain decode on the same GGUF weights as the peer.

Per engine (the pair loaded on it): the target's and the draft's decode step (ms per token,
greedy, Tandem's loop), c = draft step / target step, target-alone greedy tok/s, Tandem's
default decoding (adaptive draft length, combined lookup + draft model) tok/s, its speedup
over that engine's own greedy, α, tok/s against the peer, and whether every speculative
output is token for token the engine's own greedy output. The peer is llama-cpp-python's
`Llama.generate` (llama.cpp's sampler chain, greedy) on the llama.cpp engine's target file.
Prompts are interleaved across all rows, so drift in machine load hits every row alike, and
each prompt starts the round of measurements one step further along: a run that follows
another on the same weights finds them in the CPU's caches, and every run gets that turn.
tok/s counts the prefill (the same prompt everywhere); ms/token is the decode phase only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from bench.engine import tandem_generate
from bench.prompts import held_out_prompts
from models.config import DecodingConfig
from models.decoding.adaptive import AdaptiveDraftLength
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.pair import ModelPair


@dataclass
class Timed:
    seconds: float = 0.0
    tokens: int = 0
    decode_seconds: float = 0.0
    decode_tokens: int = 0
    outputs: list[tuple[int, ...]] = field(default_factory=list)

    def add(self, seconds: float, tokens: tuple[int, ...], decode_seconds: float | None = None) -> None:
        self.seconds += seconds
        self.tokens += len(tokens)
        self.outputs.append(tokens)
        if decode_seconds is not None:  # the first token comes with the prefill
            self.decode_seconds += decode_seconds
            self.decode_tokens += max(0, len(tokens) - 1)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def step_ms(self) -> float:
        return 1000 * self.decode_seconds / self.decode_tokens if self.decode_tokens else float("nan")


@dataclass
class EngineRow:
    name: str
    weights: str
    pair: ModelPair
    target: Timed = field(default_factory=Timed)
    draft: Timed = field(default_factory=Timed)
    speculative: Timed = field(default_factory=Timed)
    drafted: int = 0
    accepted: int = 0

    @property
    def policy(self) -> AdaptiveDraftLength:
        """The server's own adaptive schedule for greedy combined decoding on this pair: its
        estimates carry from prompt to prompt, as they do from request to request."""
        return self.pair.draft_length(DecodingConfig())


def _peer(path, threads: int, window: int):
    """llama-cpp-python's high-level model on `path`, or None when it is not installed."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    return Llama(model_path=str(path), n_ctx=window, n_batch=512, n_threads=threads, n_threads_batch=threads,
                 verbose=False)


def _peer_generate(llm, prompt: list[int], new_tokens: int, eos: int) -> tuple[tuple[int, ...], float]:
    """(greedy tokens, seconds to the first token) from llama.cpp's own loop and sampler."""
    out, started, first = [], time.perf_counter(), None
    for token in llm.generate(prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True):
        first = first if first is not None else time.perf_counter() - started
        if token == eos:
            break
        out.append(token)
        if len(out) >= new_tokens:
            break
    return tuple(out), first or 0.0


def run(rows: list[EngineRow], peer_path, prompt_count: int, new_tokens: int, seed: int = 0):
    """Fill every row; returns the peer's Timed (None without llama-cpp-python)."""
    tokenizer = rows[0].pair.target.tokenizer
    eos = tokenizer.eos_token_id
    prompts = held_out_prompts(tokenizer, prompt_count, 200, seed)
    threads = torch.get_num_threads()
    peer_model = _peer(peer_path, threads, rows[0].pair.context_window) if peer_path else None
    peer = Timed() if peer_model is not None else None
    with torch.inference_mode():
        for prompt in prompts[:1]:  # warm-up: first calls pay one-off costs
            for row in rows:
                greedy_generate(row.pair.target.model, prompt, Stops(new_tokens, {eos}), row.pair.decode)
                tandem_generate(row.pair, prompt, "combined", row.policy, new_tokens, eos)
            if peer_model is not None:
                _peer_generate(peer_model, prompt, new_tokens, eos)
        jobs = [(kind, row) for row in rows for kind in ("target", "draft", "speculative")]
        jobs += [("peer", None)] if peer_model is not None else []
        for number, prompt in enumerate(prompts):
            for kind, row in jobs[number % len(jobs):] + jobs[:number % len(jobs)]:
                if kind == "peer":
                    started = time.perf_counter()
                    tokens, first = _peer_generate(peer_model, prompt, new_tokens, eos)
                    elapsed = time.perf_counter() - started
                    peer.add(elapsed, tokens, elapsed - first)
                    continue
                pair = row.pair
                started = time.perf_counter()
                if kind == "speculative":
                    out = tandem_generate(pair, prompt, "combined", row.policy, new_tokens, eos)
                    row.speculative.add(time.perf_counter() - started, out.token_ids)
                    row.drafted += out.stats.drafted
                    row.accepted += out.stats.accepted
                    continue
                model = pair.target.model if kind == "target" else pair.draft.model
                ids = prompt if kind == "target" else [i for i in prompt if i < pair.draft.vocab_size]
                alone = greedy_generate(model, ids, Stops(new_tokens, {eos}), pair.decode)
                getattr(row, kind).add(time.perf_counter() - started, alone.token_ids, alone.stats.decode_seconds)
    return peer


def format_table(rows: list[EngineRow], peer: Timed | None) -> str:
    header = (f"{'engine':<13} {'weights':<8} {'target ms':>9} {'draft ms':>8} {'c':>5} {'greedy tok/s':>12} "
              f"{'tandem tok/s':>12} {'speedup':>7} {'α':>5} {'vs peer':>7} {'identical':>9}")
    lines = [header, "-" * len(header)]
    for row in rows:
        c = row.draft.step_ms / row.target.step_ms
        speedup = row.speculative.tokens_per_second / row.target.tokens_per_second
        alpha = f"{row.accepted / row.drafted:.2f}" if row.drafted else "–"
        versus = f"{row.speculative.tokens_per_second / peer.tokens_per_second:.2f}×" if peer else "–"
        differing = sum(a != b for a, b in zip(row.speculative.outputs, row.target.outputs, strict=True))
        identical = "yes" if not differing else f"no ({differing})"
        lines.append(f"{row.name:<13} {row.weights:<8} {row.target.step_ms:>9.2f} {row.draft.step_ms:>8.2f} "
                     f"{c:>5.2f} {row.target.tokens_per_second:>12.1f} {row.speculative.tokens_per_second:>12.1f} "
                     f"{speedup:>6.2f}× {alpha:>5} {versus:>7} {identical:>9}")
    if peer is None:
        lines.append("peer: llama.cpp's plain decode not measured (llama-cpp-python is not installed: make llamacpp)")
    else:
        llamacpp = next((row for row in rows if row.name == "llamacpp"), None)
        same = ""
        if llamacpp is not None:
            differing = sum(a != b for a, b in zip(peer.outputs, llamacpp.target.outputs, strict=True))
            same = f"; its tokens {'equal' if not differing else f'differ on {differing} prompts from'} " \
                   "the llamacpp engine's greedy"
        lines.append(f"peer: llama.cpp plain decode (llama-cpp-python Llama.generate, greedy, same GGUF file): "
                     f"{peer.step_ms:.2f} ms/token, {peer.tokens_per_second:.1f} tok/s{same}")
    return "\n".join(lines)
