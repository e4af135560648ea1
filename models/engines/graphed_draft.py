"""The draft's greedy k-step loop on the device, captured as one CUDA graph per k.

Each step feeds the previous step's argmax back in on the device; the host reads the k
tokens once at the end, so a round has one synchronisation (the accept decision needs the
tokens anyway). Without CUDA (or with `capture=False`) the same loop runs eagerly, which
is how the CPU tests check it token for token.
"""

from __future__ import annotations

import torch

from models.config import MAX_DRAFT_TOKENS
from models.engines.static_llama import StaticLlama

WARMUP_RUNS = 2  # CUDA graphs want their kernels chosen and memory pools settled first


class GraphedDraft:
    def __init__(self, model: StaticLlama, max_k: int = MAX_DRAFT_TOKENS, capture: bool | None = None):
        self.model = model
        weight = model.get_input_embeddings().weight
        self.capture = weight.device.type == "cuda" if capture is None else capture
        self.capture_error: str | None = None
        self.logits_in = torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device)
        self.position = torch.zeros(1, dtype=torch.long, device=weight.device)
        self.tokens = torch.zeros(max_k, dtype=torch.long, device=weight.device)
        self.max_k = max_k
        self._graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self._pool = None  # one memory pool for all k: the graphs never run at the same time

    def capture_all(self) -> None:
        """Capture k = 1..max_k now (at load), so no request pays for a capture (max_k is the
        longest draft any request may ask for, so no k falls back to the eager loop); any failure
        (an old driver, a kernel that cannot be captured) leaves the eager loop in charge."""
        if not self.capture:
            return
        device = self.logits_in.device
        try:
            with torch.cuda.device(device), torch.inference_mode():
                self._pool = torch.cuda.graph_pool_handle()
                for k in range(1, self.max_k + 1):
                    self._graph(k)
        except Exception as error:  # graphs are an optimisation: the eager loop gives the same tokens
            self.capture, self._graphs, self._pool = False, {}, None
            self.capture_error = f"{type(error).__name__}: {error}"

    def _loop(self, k: int) -> torch.Tensor:
        """k greedy tokens into `tokens` (k − 1 forwards: the last token is fed next round);
        returns the logits the last token was chosen from."""
        logits, position = self.logits_in, self.position.clone()
        token = logits.argmax()
        self.tokens[0].copy_(token)
        for i in range(1, k):
            logits = self.model.step(token.view(1, 1), position)
            position = position + 1
            token = logits.argmax()
            self.tokens[i].copy_(token)
        return logits

    def _graph(self, k: int) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
        if k not in self._graphs:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):  # warm-up writes land past the valid length: harmless
                for _ in range(WARMUP_RUNS):
                    self._loop(k)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool):
                output = self._loop(k)
            self._graphs[k] = (graph, output)
        return self._graphs[k]

    @torch.inference_mode()
    def run(self, logits: torch.Tensor, k: int) -> tuple[list[int], torch.Tensor]:
        """Draft k tokens after the cache's valid positions, given the next-token `logits`.
        The cache then holds k − 1 more positions; returns (tokens, the last logits)."""
        if not 1 <= k <= self.max_k:
            raise ValueError(f"k must be 1..{self.max_k}")
        cache = self.model.kv
        if cache.length + k - 1 > cache.max_len:
            raise ValueError("the draft's static cache is full")
        self.logits_in.copy_(logits)
        self.position.fill_(cache.length)
        if self.capture:
            graph, output = self._graph(k)
            graph.replay()
        else:
            output = self._loop(k)
        tokens = self.tokens[:k].tolist()  # the round's one host synchronisation
        cache.length += k - 1
        return tokens, output
