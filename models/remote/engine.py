"""The remote engine: a `Generator` (completion/generator.py) whose decoding runs on an
OpenAI-compatible server (vLLM: continuous batching, prefix caching, speculative decoding
with its own draft model), while this side keeps the target's tokenizer, so the prompt is
the very ids a local pair would read, and applies Tandem's stop rules to the stream.

A request streams `/v1/completions` with the prompt as token ids (no `suffix`: Tandem lays
out fill-in-the-middle prompts itself) and the end tokens as `stop_token_ids`; the HTTP
request is closed the moment a stop rule fires, the time budget runs out or a newer
keystroke cancels it, and vLLM then aborts it. Greedy output equals the local engine's for
the same model and ids where both compute alike (tests/team compares them token for token).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from transformers import AutoTokenizer

from models.config import DecodingConfig, PairSpec
from models.decoding.generation import Continuation, Generation, Stops, never
from models.embedded import resolve_model_dirs
from models.errors import ModelLoadError, RemoteError
from models.records import DecodeStats, StopReason
from models.remote.http_stream import Endpoint, Exchange, Stopped
from models.remote.server_facts import ServerFacts, describe_counters, read_counters, read_facts
from models.target_text import TargetText

log = logging.getLogger(__name__)

KEY_VARIABLE = "TANDEM_REMOTE_KEY"
SILENCE_SECONDS = 30.0  # a server quiet this long mid-request is given up on
MAX_ALTERNATIVES = 20   # vLLM's default cap on logprobs


def read_api_key(key_file: str) -> str | None:
    """The key from `key_file` when set, else from $TANDEM_REMOTE_KEY; never logged."""
    if key_file:
        path = Path(key_file).expanduser()
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise RemoteError(f"cannot read the API key file '{path}': {error.strerror or error}") from None
        if not key:
            raise RemoteError(f"the API key file '{path}' is empty")
        return key
    return os.environ.get(KEY_VARIABLE) or None


class RemotePair(TargetText):
    """What the completion layer calls, served by a remote engine; one per PairSpec."""

    def __init__(self, endpoint: Endpoint, facts: ServerFacts, tokenizer, tokenizer_dir: Path):
        TargetText.__init__(self, tokenizer)
        self.endpoint, self.facts, self.tokenizer_dir = endpoint, facts, tokenizer_dir
        self.context_window = self.draft_context_window = facts.context_window
        self.warnings: list[str] = list(facts.warnings)
        self.latencies_ms: list[float] = []  # of the newest requests, for tandem/status
        self._counters: dict[str, float] = {}
        self._counters_read = 0.0

    @classmethod
    def load(cls, spec: PairSpec) -> "RemotePair":
        endpoint = Endpoint(spec.remote_url, read_api_key(spec.remote_key_file))
        _, tokenizer_dir = resolve_model_dirs("", spec.target)
        if not tokenizer_dir.is_dir():
            raise ModelLoadError(f"the remote engine reads the served model's tokenizer from targetModel, and "
                                 f"'{tokenizer_dir}' is not a folder")
        try:
            tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True, trust_remote_code=False)
        except Exception as error:  # a missing folder, or files the tokenizers library refuses
            raise ModelLoadError(f"the remote engine needs the target's tokenizer locally (targetModel); "
                                 f"'{tokenizer_dir}' has none that loads: {type(error).__name__}: {error}") from None
        facts = read_facts(endpoint, spec.remote_model, TargetText(tokenizer).encode)
        return cls(endpoint, facts, tokenizer, tokenizer_dir)

    def generate(self, prompt_ids: Sequence[int], max_new_tokens: int, end_ids: Collection[int] = (),
                 should_stop: Callable[[str], bool] = never,
                 is_cancelled: Callable[[], bool] = lambda: False, draft_prompt_ids: Sequence[int] | None = None,
                 min_new_tokens: int = 0, decoding: DecodingConfig = DecodingConfig(), deadline: float | None = None,
                 banned_first_ids: Collection[int] = ()) -> Generation:
        """As the local pair's (completion/generator.py); `draft_prompt_ids` is not used:
        the server's draft reads the target's prompt."""
        ends = set(end_ids) | ({self._eos_id} if self._eos_id is not None else set())
        # Within the served window, as a local model's cache is: the server refuses more (400).
        max_new_tokens = min(max_new_tokens, self.context_window - len(prompt_ids))
        stops = Stops(max_new_tokens, ends, min_new_tokens, should_stop, is_cancelled, deadline, banned_first_ids)
        out = Continuation(stops, self.decode)
        started = time.perf_counter()
        first_at, stop = None, None
        try:
            if max_new_tokens <= 0:
                stop = StopReason.MAX_TOKENS
            elif banned_first_ids:  # the best first token that is not banned, then on from it
                stop = out.extend([self._best_first(prompt_ids, stops, decoding, set(banned_first_ids))])
                first_at = time.perf_counter()
            if stop is None:
                stop, first_at = self._stream(list(prompt_ids), out, stops, decoding, first_at)
            if not out.tokens and stop == StopReason.EOS and min_new_tokens > 0:
                # A server that ended before min_tokens: the best first token that is not an end.
                stop = out.extend([self._best_first(prompt_ids, stops, decoding, set())])
                if stop is None:
                    stop, first_at = self._stream(list(prompt_ids), out, stops, decoding, first_at)
        except Stopped:
            stop = StopReason.CANCELLED if is_cancelled() else StopReason.TIME_BUDGET
        finished = time.perf_counter()
        self._note_latency((finished - started) * 1000)
        first = (first_at or finished) - started
        return Generation(tuple(out.tokens), out.text, DecodeStats(
            prompt_tokens=len(prompt_ids), new_tokens=len(out.tokens), target_passes=1,
            target_seconds=finished - started, prefill_seconds=first, decode_seconds=finished - started - first,
            stop_reason=stop or StopReason.MAX_TOKENS))

    def _body(self, prompt_ids: list[int], stops: Stops, decoding: DecodingConfig, emitted: int) -> dict:
        body = {"model": self.facts.model, "prompt": prompt_ids, "max_tokens": stops.max_new_tokens - emitted,
                "min_tokens": max(0, stops.min_new_tokens - emitted), "stop_token_ids": sorted(stops.end_ids),
                "temperature": decoding.temperature, "top_p": decoding.top_p, "return_token_ids": True,
                "skip_special_tokens": False}
        if decoding.top_k > 0:
            body["top_k"] = decoding.top_k
        if decoding.seed is not None:
            body["seed"] = decoding.seed
        return body

    def _keep_going(self, stops: Stops) -> Callable[[], bool]:
        return lambda: not stops.is_cancelled() and not stops.expired()

    def _stream(self, prompt_ids: list[int], out: Continuation, stops: Stops, decoding: DecodingConfig,
                first_at: float | None) -> tuple[StopReason, float | None]:
        """Stream the rest of `out` after `prompt_ids` (+ what `out` holds); closes the
        request at the first stop."""
        body = {**self._body(prompt_ids + out.tokens, stops, decoding, len(out.tokens)), "stream": True}
        with Exchange(self.endpoint, "/v1/completions", body, self._keep_going(stops), SILENCE_SECONDS) as answer:
            self._check(answer)
            for event in answer.events():
                if isinstance(event.get("error"), dict):  # vLLM streams a refusal as an event after a 200
                    error = event["error"]
                    raise RemoteError(f"the remote server answered {error.get('code', 'an error')}: "
                                      f"{error.get('message', error)}")
                choice = (event.get("choices") or [{}])[0]
                tokens = choice.get("token_ids") or []
                if tokens and first_at is None:
                    first_at = time.perf_counter()
                stop = out.extend(tokens)
                if stop is not None:
                    return stop, first_at  # leaving the block closes the request: the server aborts it
                reason = choice.get("finish_reason")
                if reason:
                    return (StopReason.MAX_TOKENS if reason == "length" else StopReason.EOS), first_at
        return StopReason.EOS, first_at

    def _best_first(self, prompt_ids: Sequence[int], stops: Stops, decoding: DecodingConfig, banned: set[int]) -> int:
        """The most likely first token that is neither banned nor, before min_new_tokens,
        an end token (greedy's choice under the ban; sampling takes it too)."""
        excluded = banned | (set(stops.end_ids) if stops.min_new_tokens > 0 else set())
        body = {**self._body(list(prompt_ids), stops, decoding, 0), "max_tokens": 1, "min_tokens": 0,
                "temperature": 0.0, "logprobs": min(MAX_ALTERNATIVES, len(excluded) + 1),
                "return_tokens_as_token_ids": True}
        with Exchange(self.endpoint, "/v1/completions", body, self._keep_going(stops), SILENCE_SECONDS) as answer:
            self._check(answer)
            reply = answer.json()
        top = (((reply.get("choices") or [{}])[0].get("logprobs") or {}).get("top_logprobs") or [{}])[0]
        ranked = sorted(((logprob, int(key.removeprefix("token_id:"))) for key, logprob in top.items()
                         if key.startswith("token_id:")), reverse=True)
        for _, token in ranked:
            if token not in excluded:
                return token
        raise RemoteError(f"the server's {len(ranked)} most likely first tokens are all excluded here")

    def _check(self, answer: Exchange) -> None:
        if answer.status == 200:
            return
        words = answer.error_message()
        if answer.status == 401:
            raise RemoteError(f"the remote server refused the API key (401): set ${KEY_VARIABLE} or remoteKeyFile "
                              f"to the key it expects ({words})")
        if answer.status == 404 and "model" in words.lower():
            raise RemoteError(f"the remote server does not serve the model {self.facts.model!r} (404: {words})")
        raise RemoteError(f"the remote server answered {answer.status}: {words}")

    def _note_latency(self, milliseconds: float) -> None:
        self.latencies_ms = [*self.latencies_ms[-99:], milliseconds]
        if time.monotonic() - self._counters_read > 10.0:  # the server's counters, now and then,
            self._counters_read = time.monotonic()          # off the keystroke's path
            threading.Thread(target=self._read_counters, name="tandem-remote-counters", daemon=True).start()

    def _read_counters(self) -> None:
        self._counters = read_counters(self.endpoint)

    def warm_up(self) -> None:
        """One short request: the first completion then finds the connection path tried."""
        prompt = ([self.bos_id] if self.bos_id is not None else []) + self.encode("def main():\n    ")
        self.generate(prompt, 4)

    def describe(self) -> dict:
        ordered = sorted(self.latencies_ms)
        latency = {"requests": len(ordered), "p50": round(ordered[len(ordered) // 2], 1),
                   "p95": round(ordered[int(len(ordered) * 0.95)], 1)} if ordered else {"requests": 0}
        return {"engine": "remote", "remote": {"url": self.endpoint.url, "model": self.facts.model,
                                               "latencyMs": latency, **describe_counters(self._counters)},
                "target": {"path": str(self.tokenizer_dir), "engine": f"remote ({self.endpoint.url})",
                           "contextWindow": self.context_window, "vocabSize": len(self._vocab)},
                "draft": None}
