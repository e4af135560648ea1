"""The remote engine against a fake OpenAI-style server: streaming, stop rules, cancellation
and the time budget close the request; every failure is one clear RemoteError. (Against
real vLLM: tests/team.)"""

import time

import pytest

from models.config import PairSpec
from models.errors import ModelError, RemoteError
from models.records import StopReason
from models.remote import engine
from models.remote.engine import RemotePair
from tests.remote.fake_server import FakeServer

PROMPT = [1, 822, 285]


@pytest.fixture
def serve():
    servers = []

    def start(completions, key=None):
        servers.append(FakeServer(completions, key))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def remote(server, **spec) -> RemotePair:
    return RemotePair.load(PairSpec(remote_url=server.url, **spec))


def test_a_stream_split_anywhere_gives_the_tokens_and_the_request_carries_ids_not_a_suffix(serve):
    def completions(handler, body):
        handler.start_stream()
        first = b'data: {"choices": [{"token_ids": [373], "finish_reason": null}]}\n\n'
        for piece in (first[:7], first[7:30], first[30:]):  # one event over three chunks
            handler.chunk(piece)
        handler.event([443, 1243])  # an accepted run arrives as several ids at once
        handler.event([415], finish="length")
        handler.chunk(b"data: [DONE]\n\n")
        handler.chunk(b"")

    server = serve(completions)
    generation = remote(server).generate(PROMPT, 4, end_ids={5})
    assert generation.token_ids == (373, 443, 1243, 415) and generation.stats.stop_reason == StopReason.MAX_TOKENS
    body = server.bodies[0]
    assert body["prompt"] == PROMPT and body["stream"] and body["max_tokens"] == 4 and "suffix" not in body
    assert body["stop_token_ids"] == [2, 5] and body["model"] == "embedded"


@pytest.mark.parametrize("how", ["stop rule", "cancel", "time budget"])
def test_a_stop_rule_a_cancel_or_the_time_budget_closes_the_request_at_once(serve, how):
    server = serve(lambda handler, body: handler.trickle(373, seconds=10))
    pair = remote(server)
    started = time.perf_counter()
    kwargs = {"stop rule": {"should_stop": lambda text: text.count("is") >= 3},
              "cancel": {"is_cancelled": lambda: time.perf_counter() - started > 0.2},
              "time budget": {"deadline": started + 0.2}}[how]
    generation = pair.generate(PROMPT, 400, **kwargs)
    assert time.perf_counter() - started < 1.5
    expected = {"stop rule": StopReason.STOP_RULE, "cancel": StopReason.CANCELLED,
                "time budget": StopReason.TIME_BUDGET}[how]
    assert generation.stats.stop_reason == expected
    assert server.hung_up.wait(2)  # the server saw its client leave (vLLM then aborts the request)


def test_a_silent_server_is_given_up_on_with_a_clear_message(serve, monkeypatch):
    monkeypatch.setattr(engine, "SILENCE_SECONDS", 0.3)
    server = serve(lambda handler, body: time.sleep(3))
    with pytest.raises(RemoteError, match="sent nothing for 0 s|sent nothing for"):
        remote(server).generate(PROMPT, 8)


def test_a_refusal_carries_the_servers_own_words(serve):
    server = serve(lambda handler, body: handler.answer(400, {"error": {"message": "max_tokens is too large"}}))
    with pytest.raises(RemoteError, match="answered 400: max_tokens is too large"):
        remote(server).generate(PROMPT, 8)


def test_the_api_key_comes_from_its_file_and_is_never_shown(serve, tmp_path, monkeypatch):
    monkeypatch.delenv(engine.KEY_VARIABLE, raising=False)
    server = serve(lambda handler, body: handler.trickle(373, 0.05), key="s3cret-key")
    with pytest.raises(RemoteError, match="refused the API key") as refused:
        remote(server)
    key_file = tmp_path / "a folder" / "key"
    key_file.parent.mkdir()
    key_file.write_text("s3cret-key\n")
    pair = remote(server, remote_key_file=str(key_file))
    assert pair.generate(PROMPT, 2).token_ids == (373, 373)
    shown = f"{refused.value} {pair.describe()} {pair.endpoint!r}"
    assert "s3cret" not in shown
    monkeypatch.setenv(engine.KEY_VARIABLE, "s3cret-key")
    assert remote(server).facts.model == "embedded"
    with pytest.raises(RemoteError, match="cannot read the API key file"):
        remote(server, remote_key_file=str(tmp_path / "missing"))


def test_an_unreachable_server_or_an_unknown_model_says_so(serve):
    with pytest.raises(RemoteError, match="cannot reach the remote server at http://127.0.0.1:9"):
        RemotePair.load(PairSpec(remote_url="http://127.0.0.1:9"))
    server = serve(lambda handler, body: None)
    with pytest.raises(RemoteError, match="does not serve 'other'; it serves embedded"):
        remote(server, remote_model="other")


def test_an_end_token_first_is_replaced_by_the_best_other_first_token(serve):
    """min_new_tokens = 1, as the completion service always asks: a server that still ends
    at once is asked for its top alternatives, and decoding goes on from the best one."""
    def completions(handler, body):
        if body.get("logprobs"):
            top = {"token_id:2": -0.1, "token_id:373": -2.5, "token_id:443": -3.0}
            return handler.answer(200, {"choices": [{"logprobs": {"top_logprobs": [top]}}]})
        handler.start_stream()
        if body["prompt"] == PROMPT:
            handler.event([], finish="stop")  # ended by an end token, nothing emitted
        else:
            handler.event([443], finish="length")
        handler.chunk(b"")

    generation = remote(serve(completions)).generate(PROMPT, 2, min_new_tokens=1)
    assert generation.token_ids == (373, 443)


def test_a_request_never_asks_for_more_than_the_served_window(serve):
    server = serve(lambda handler, body: handler.trickle(373, 0.05))
    pair = remote(server)  # the fake serves 512 positions
    pair.generate(list(range(500)), 64)
    assert server.bodies[-1]["max_tokens"] == 12
    assert pair.generate(list(range(512)), 64).token_ids == ()  # no room: nothing asked
    assert len(server.bodies) == 1


def test_a_refusal_inside_the_stream_is_a_refusal_too(serve):
    """vLLM answers 200 to a streamed request, then streams its error as an event."""
    def completions(handler, body):
        handler.start_stream()
        handler.chunk(b'data: {"error": {"message": "Token id 999999 is out of vocabulary", "code": 400}}\n\n')
        handler.chunk(b"data: [DONE]\n\n")
        handler.chunk(b"")

    with pytest.raises(RemoteError, match="answered 400: Token id 999999 is out of vocabulary"):
        remote(serve(completions)).generate(PROMPT, 4)


def test_a_target_folder_that_is_not_there_is_named(serve, tmp_path):
    with pytest.raises(ModelError, match="'.*no such' is not a folder"):
        RemotePair.load(PairSpec(target=str(tmp_path / "no such"), remote_url=serve(lambda h, b: None).url))


METRICS = """# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="embedded"} 1200.0
vllm:prefix_cache_hits_total{engine="0",model_name="embedded"} 900.0
vllm:spec_decode_num_drafts_total{engine="0",model_name="embedded"} 10.0
vllm:spec_decode_num_draft_tokens_total{engine="0",model_name="embedded"} 30.0
vllm:spec_decode_num_accepted_tokens_total{engine="0",model_name="embedded"} 12.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="embedded",position="0"} 8.0
"""


def test_status_shows_the_servers_acceptance_and_prefix_cache_hit_rate(serve):
    server = serve(lambda handler, body: None)
    pair = remote(server)
    assert pair.describe()["remote"]["speculativeDecoding"] is None  # nothing read yet
    server.metrics = METRICS
    pair._read_counters()
    shown = pair.describe()["remote"]
    assert shown["speculativeDecoding"] == {"drafts": 10, "draftTokens": 30, "acceptedTokens": 12, "acceptance": 0.4}
    assert shown["prefixCache"] == {"queriedTokens": 1200, "hitTokens": 900, "hitRate": 0.75}
    server.metrics = METRICS.split("vllm:spec_decode_num_drafts_total")[0]  # no speculative decoding served
    pair._read_counters()
    shown = pair.describe()["remote"]
    assert shown["speculativeDecoding"] is None and shown["prefixCache"]["hitRate"] == 0.75
