"""What Tandem asks a remote server before the first completion (which model, how many
positions, whether its tokenizer agrees with the local one) and, now and then, its
speculative-decoding counters for tandem/status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.errors import RemoteError
from models.remote.http_stream import Endpoint, Exchange

CHECK_TEXT = "def greet(name):\n    return f\"hello, {name}\"  # ünïcode\n"
QUICK_SECONDS = 10.0
COUNTERS_SECONDS = 1.0
COUNTERS = {  # vLLM's Prometheus names → tandem/status's
    "vllm:spec_decode_num_drafts_total": "drafts",
    "vllm:spec_decode_num_draft_tokens_total": "draftTokens",
    "vllm:spec_decode_num_accepted_tokens_total": "acceptedTokens",
}


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
    """The server's speculative-decoding counters (summed over labels); {} where it has none."""
    try:
        # On the model worker, between two completions: never wait long for a statistic.
        with _get(endpoint, "/metrics", silence=COUNTERS_SECONDS) as answer:
            if answer.status != 200:
                return {}
            text = answer.text()
    except RemoteError:
        return {}
    if not any(name in text for name in COUNTERS):  # a server without speculative decoding
        return {}
    return {COUNTERS[name]: value for name, value in sum_metrics(text, COUNTERS).items()}


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
