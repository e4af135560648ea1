"""The defensive frame reader: whole messages, a size cap, and re-synchronisation."""

import json

import pytest

from lsp_server import framing

from lsp_server.framing import HEADER_REACH, Dropped, Frame, Framer, request_id_in


def frame(message: dict, delta: int = 0) -> bytes:
    body = json.dumps(message, ensure_ascii=False).encode()
    return b"Content-Length: %d\r\n\r\n" % (len(body) + delta) + body


def bodies(events) -> list[dict]:
    out = []
    for event in events:
        if isinstance(event, Frame):
            try:
                out.append(json.loads(event.body))
            except ValueError:
                out.append("broken")
    return out


A, B, C = ({"jsonrpc": "2.0", "id": i, "method": "m", "params": {"text": "ü" * i}} for i in (1, 2, 3))


def test_messages_in_any_chunks_come_out_whole():
    stream = frame(A) + b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n" + frame(B)[0:0] + frame(B)
    framer, events = Framer(), []
    for i in range(len(stream)):  # one byte at a time
        events += framer.feed(stream[i:i + 1])
    assert bodies(events) == [A, B] and not any(isinstance(e, Dropped) for e in events)


def test_a_length_too_large_ends_at_the_next_header():
    events = Framer().feed(frame(A, delta=+7) + frame(B) + frame(C))
    assert bodies(events) == [A, B, C]  # nothing lost


def test_a_length_too_small_loses_that_message_only():
    # as when a client counts characters instead of UTF-8 bytes
    events = Framer().feed(frame(A, delta=-1) + frame(B) + frame(C))
    assert bodies(events) == ["broken", B, C]
    assert any(isinstance(e, Dropped) for e in events)


def test_an_oversized_message_is_dropped_as_it_streams_and_reading_goes_on():
    framer = Framer(max_bytes=1000)
    big = {"jsonrpc": "2.0", "id": 7, "method": "textDocument/didOpen", "params": {"text": "x" * 5000}}
    stream = frame(big) + frame(B)
    events = []
    for i in range(0, len(stream), 100):
        events += framer.feed(stream[i:i + 100])
        assert len(framer._buffer) <= HEADER_REACH + 100  # never holds the oversized body, only a tail
    dropped = [e for e in events if isinstance(e, Dropped)]
    assert len(dropped) == 1 and "over the limit of 1,000" in dropped[0].reason
    assert request_id_in(dropped[0].head) == 7 and bodies(events) == [B]


def test_an_absurd_length_does_not_allocate_it_nor_swallow_what_follows():
    framer = Framer()
    events = framer.feed(b"Content-Length: " + b"9" * 30 + b"\r\n\r\n{}")
    assert isinstance(events[0], Dropped) and len(framer._buffer) < 10
    assert bodies(framer.feed(frame(A) + frame(B))) == [A, B]


def test_an_oversized_message_arriving_with_the_next_one_never_answers_for_it():
    # One read holds both: the dropped head must not reach into the next request, whose id
    # would otherwise get a parse error before its real answer (as CI once saw).
    events = Framer().feed(b"Content-Length: %d\r\n\r\n{}" % 10**12 + frame(A))
    dropped = [e for e in events if isinstance(e, Dropped)]
    assert len(dropped) == 1 and request_id_in(dropped[0].head) is None and dropped[0].head == b"{}"
    assert bodies(events) == [A]


def test_garbage_without_headers_is_bounded_and_skipped():
    framer = Framer()
    events = framer.feed(b"x" * 100_000)
    assert len(framer._buffer) < 10_000 and any(isinstance(e, Dropped) for e in events)
    assert bodies(framer.feed(frame(A))) == [A]


def test_a_request_id_is_found_in_what_could_not_be_read():
    assert request_id_in(b'{"jsonrpc":"2.0","id":"abc","method":"x"') == "abc"
    assert request_id_in(b'{"jsonrpc":"2.0","method":"x"') is None  # a notification: nobody waits


class Counting:
    """A compiled pattern that counts the times it is tried."""

    def __init__(self, pattern) -> None:
        self.pattern, self.calls = pattern, 0

    def search(self, *args):
        self.calls += 1
        return self.pattern.search(*args)

    def match(self, *args):
        self.calls += 1
        return self.pattern.match(*args)


@pytest.mark.parametrize("garbage", [b"ab:", b"x", b"Content-Length: 12 \r\n", b"Content-Length: 1\r\nX-A: b\r\n"])
def test_finding_headers_costs_time_linear_in_the_bytes(monkeypatch, garbage):
    # A regex for the whole header block, tried at every byte, cost 2 s per 64 KB of
    # `ab:ab:…` and grew with the square of a run of header-like lines: such a stream (or a
    # large body of letters and colons) froze the server. Each line is now tried a bounded
    # number of times.
    patterns = {name: Counting(getattr(framing, name)) for name in ("CONTENT_LENGTH", "LENGTH_LINE", "FIELD_LINE")}
    for name, counting in patterns.items():
        monkeypatch.setattr(framing, name, counting)
    framer = Framer()
    stream = garbage * (2**20 // len(garbage))
    for i in range(0, len(stream), 64 * 2**10):
        framer.feed(stream[i:i + 64 * 2**10])
    body = json.dumps({"jsonrpc": "2.0", "method": "m", "params": {"text": "key: value " * 20000}}).encode()
    events = framer.feed(b"Content-Length: %d\r\n\r\n" % len(body) + body + frame(A))
    assert bodies(events)[-2:] == [json.loads(body), A]
    lines = stream.count(b"\n") + 1
    assert sum(p.calls for p in patterns.values()) <= 8 * lines + 100  # a square would be 100s of times more
