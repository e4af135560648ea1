"""What Tandem asks a remote server before the first completion (which model, how many
positions, whether its tokenizer agrees with the local one) and, now and then, its
speculative-decoding and prefix-cache counters for tandem/status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.errors import RemoteError
from models.remote.http_stream import Endpoint, Exchange

CHECK_TEXT = "def greet(name):\n    return f\"hello, {name}\"  # ünïcode\n"
QUICK_SECONDS = 10.0
COUNTERS_SECONDS = 1.0
SPECULATIVE_COUNTERS = {  # vLLM's Prometheus names → tandem/status's
    "vllm:spec_decode_num_drafts_total": "drafts",
    "vllm:spec_decode_num_draft_tokens_total": "draftTokens",
    "vllm:spec_decode_num_accepted_tokens_total": "acceptedTokens",
}
# Prompt tokens looked up in vLLM's prefix cache, and found there: consecutive keystrokes'
# prompts share their start (completion/context.py keeps it stable), so most should hit.
PREFIX_COUNTERS = {
    "vllm:prefix_cache_queries_total": "queriedTokens",
    "vllm:prefix_cache_hits_total": "hitTokens",
}
COUNTERS = {**SPECULATIVE_COUNTERS, **PREFIX_COUNTERS}


@dataclass(frozen=True)
class ServerFacts:
    model: str
    context_window: int
    warnings: tuple[str, ...] = ()


def _get(endpoint: Endpoint, route: str, body: dict | None = None, silence: float = QUICK_SECONDS) -> Exchange:
    return Exchange(endpoint, route, body, lambda: True, silence, method="POST" if body else "GET")


def read_facts(endpoint: Endpoint, wanted: str, encode: Callable[[str], list[int]]) -> ServerFacts:
    """The served model (`wanted`, or the only one), its context window, and a check that
    the server tokenizes as the local tokenizer does; a clear RemoteError otherwise."""
    with _get(endpoint, "/v1/models") as answer:
        if answer.status == 401:
            raise RemoteError(f"the remote server at {endpoint.url} refused the API key (401): set "
                              "$TANDEM_REMOTE_KEY or remoteKeyFile to the key it expects")
        if answer.status != 200:
            raise RemoteError(f"the remote server at {endpoint.url} answered {answer.status} to /v1/models: "
                              f"{answer.error_message()}")
        served = {entry.get("id"): entry for entry in answer.json().get("data", []) if isinstance(entry, dict)}
    if not served:
        raise RemoteError(f"the remote server at {endpoint.url} serves no model")
    if not wanted:
        if len(served) > 1:
            raise RemoteError(f"the remote server serves {len(served)} models ({', '.join(sorted(served))}): "
                              "set remoteModel to one of them")
        wanted = next(iter(served))
    if wanted not in served:
        raise RemoteError(f"the remote server does not serve {wanted!r}; it serves {', '.join(sorted(served))}")
    window = int(served[wanted].get("max_model_len") or 0)
    if window <= 0:
        raise RemoteError(f"the remote server does not say how many positions {wanted!r} has (max_model_len)")
    return ServerFacts(wanted, window, _tokenizer_warnings(endpoint, wanted, encode))


def _tokenizer_warnings(endpoint: Endpoint, model: str, encode: Callable[[str], list[int]]) -> tuple[str, ...]:
    with _get(endpoint, "/tokenize", {"model": model, "prompt": CHECK_TEXT, "add_special_tokens": False}) as answer:
        if answer.status == 404:  # not vLLM: nothing to compare against
            return ("the remote server cannot tokenize (/tokenize), so the local tokenizer could not be checked "
                    "against the served model's",)
        if answer.status != 200:
            raise RemoteError(f"the remote server answered {answer.status} to /tokenize: {answer.error_message()}")
        theirs = answer.json().get("tokens")
    if theirs != encode(CHECK_TEXT):
        raise RemoteError(f"the local tokenizer (targetModel) splits text differently from {model!r} on the "
                          "server: point targetModel at the served model's checkpoint or tokenizer folder")
    return ()


def read_counters(endpoint: Endpoint) -> dict[str, float]:
    """The server's counters (COUNTERS' status names, each summed over labels); {} where it
    exposes none of them."""
    try:
        # On the model worker, between two completions: never wait long for a statistic.
        with _get(endpoint, "/metrics", silence=COUNTERS_SECONDS) as answer:
            if answer.status != 200:
                return {}
            text = answer.text()
    except RemoteError:
        return {}
    if not any(name in text for name in COUNTERS):  # not vLLM
        return {}
    return {COUNTERS[name]: value for name, value in sum_metrics(text, COUNTERS).items()}


def describe_counters(counters: dict[str, float]) -> dict:
    """tandem/status's view of `read_counters`: speculative decoding with its acceptance,
    and the prefix cache with its hit rate, each None where the server reports none."""
    speculative = {name: counters[name] for name in SPECULATIVE_COUNTERS.values() if name in counters}
    if speculative.get("draftTokens"):
        speculative["acceptance"] = round(speculative["acceptedTokens"] / speculative["draftTokens"], 3)
    prefix = {name: counters[name] for name in PREFIX_COUNTERS.values() if name in counters}
    if prefix.get("queriedTokens"):
        prefix["hitRate"] = round(prefix["hitTokens"] / prefix["queriedTokens"], 3)
    return {"speculativeDecoding": speculative if speculative.get("drafts") else None,
            "prefixCache": prefix if prefix.get("queriedTokens") else None}


def sum_metrics(text: str, names) -> dict[str, float]:
    """Prometheus text: each of `names` summed over its labels (0 where absent)."""
    totals = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals:
            try:
                totals[name] += float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
    return totals
