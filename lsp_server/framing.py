"""LSP's base protocol framing, read defensively: `Content-Length` headers, a size cap, and
re-synchronisation after a broken frame.

pygls' own reader trusts every header: a `Content-Length` a few bytes off leaves the
server waiting for bytes that never come (deaf, but alive, so editors never restart it),
and `Content-Length: 10**12` makes it allocate until it dies. `Framer` is a pure parser
fed with whatever bytes arrive; it yields whole message bodies and says what it dropped.

Two facts make re-synchronising safe: raw CR/LF bytes cannot occur inside a JSON string
(they are escaped there), so `Content-Length: N\\r\\n…\\r\\n\\r\\n` inside a body is the next
frame's header, never text; and a header block always ends with an empty line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MESSAGE_BYTES = 32 * 2**20  # the largest message read; documents are refused far below it
MAX_HEADER_BYTES = 8 * 2**10    # header lines are short: more without an end is garbage
KEEP_OF_OVERSIZED = 4 * 2**10   # the head of a dropped message, to find its id
HEADER_REACH = 2 * 2**10        # a header block is shorter: rescanning this much finds one cut by a chunk

# A header block: other fields (Content-Type) may come before or after Content-Length, and
# an empty line ends it. It is read line by line from each `Content-Length:` found: a regex
# for the whole block, tried at every byte of a body or of garbage, cost up to 2 s per 64 KB
# (`ab:ab:…`) and grew with the square of a run of header-like lines.
CONTENT_LENGTH = re.compile(rb"Content-Length:", re.IGNORECASE)
LENGTH_LINE = re.compile(rb"Content-Length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)
FIELD_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9-]{0,63}:[^\r\n]{0,1024}\r\n")
FIELD_REACH = 1 + 64 + 1 + 1024 + 2  # the longest line FIELD_LINE matches
FIELDS_BEFORE = 8  # fields before Content-Length that still count as its header


@dataclass(frozen=True)
class Header:
    start: int   # where the block begins (its first field)
    end: int     # just after its empty line: the body begins here
    length: int  # the Content-Length


def find_header(buffer: bytes | bytearray, pos: int = 0, endpos: int | None = None) -> Header | None:
    """The first complete header block at or after `pos` that ends by `endpos`, in time
    linear in the bytes searched (each byte is read as part of a field line at most once).
    Of several Content-Length lines in one block the last counts: what precedes it is more
    likely the debris of a broken frame than the header of the body that follows."""
    endpos = len(buffer) if endpos is None else endpos
    floor = walked = pos  # lines up to `walked` are known fields without an empty line among them
    walked_length = None  # the last Content-Length among them
    while (hit := CONTENT_LENGTH.search(buffer, pos, endpos)) is not None:
        line = LENGTH_LINE.match(buffer, hit.start(), endpos)
        pos = hit.end()
        if line is None:
            continue
        length, cursor = int(line.group(1)), line.end()
        if walked > cursor:
            length, cursor = walked_length if walked_length is not None else length, walked
        limit = min(endpos, hit.start() + MAX_HEADER_BYTES)
        while cursor < limit and buffer[cursor:cursor + 2] != b"\r\n":
            field = FIELD_LINE.match(buffer, cursor, limit)
            if field is None:
                break
            if (other := LENGTH_LINE.match(buffer, cursor, field.end())) is not None:
                length = int(other.group(1))
            cursor = field.end()
        if cursor + 2 <= limit and buffer[cursor:cursor + 2] == b"\r\n":
            return Header(_fields_before(buffer, hit.start(), floor), cursor + 2, length)
        walked, walked_length = cursor, length
    return None


def _fields_before(buffer: bytes | bytearray, start: int, floor: int) -> int:
    """Where a header block that reaches Content-Length at `start` begins: back over whole
    field lines right before it (a Content-Type sent first)."""
    for _ in range(FIELDS_BEFORE):
        if start < 2 or buffer[start - 2:start] != b"\r\n":
            break
        line_start = max(floor, buffer.rfind(b"\n", 0, start - 2) + 1, start - FIELD_REACH)
        field = FIELD_LINE.search(buffer, line_start, start)
        if field is None or field.end() != start:
            break
        start = field.start()
    return start


@dataclass(frozen=True)
class Frame:
    body: bytes


@dataclass(frozen=True)
class Dropped:
    """Bytes that were not a readable message: `head` is what is kept of them."""
    kind: str    # oversized | outside-frame | no-header | not-json
    reason: str
    head: bytes = b""


class Framer:
    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._skipping = 0  # bytes of an oversized body still to discard as they arrive
        self._scanned = 0   # how far the body being received was searched for a next header

    def feed(self, data: bytes) -> list[Frame | Dropped]:
        """Everything complete so far, in order."""
        self._buffer += data
        out: list[Frame | Dropped] = []
        while True:
            if self._skipping:  # discarding an oversized body as it streams
                match = find_header(self._buffer)
                if match is not None and match.start < self._skipping:  # a next header: its length lied
                    self._consume(match.start)
                    self._skipping = 0
                elif self._skipping <= len(self._buffer):
                    self._consume(self._skipping)
                    self._skipping = 0
                else:  # keep a tail, where a header may be cut by the chunk's end
                    dropped = max(0, len(self._buffer) - HEADER_REACH)
                    self._consume(dropped)
                    self._skipping -= dropped
                    return out
            match = find_header(self._buffer)
            if match is None:
                self._trim_garbage(out)
                return out
            if match.start > 0:  # bytes before a header: the tail of a frame that was too short
                out.append(Dropped("outside-frame", f"{match.start} bytes outside any frame", bytes(self._buffer[:match.start])))
                self._consume(match.start)
                continue
            length, start = match.length, match.end
            if length > self.max_bytes:
                # Its head stops at a next header: that message is read on its own, and its id
                # must not be answered twice (once with a parse error as if it were this one's).
                following = find_header(self._buffer, start, start + KEEP_OF_OVERSIZED + HEADER_REACH)
                head_end = min(start + KEEP_OF_OVERSIZED, following.start if following else len(self._buffer))
                out.append(Dropped("oversized", f"a message of {length:,} bytes, over the limit of {self.max_bytes:,}",
                                   bytes(self._buffer[start:head_end])))
                self._consume(start)
                self._skipping = length
                continue
            # The next header inside this body means its length was too large: the frame ends there.
            # (Only the bytes not yet scanned: a large body arriving in small chunks costs linear time.)
            following = find_header(self._buffer, max(start, self._scanned - HEADER_REACH))
            if following is not None and following.start < start + length:
                out.append(Frame(bytes(self._buffer[start:following.start])))
                self._consume(following.start)
                continue
            if len(self._buffer) - start < length:
                self._scanned = len(self._buffer)
                return out  # wait for the rest
            out.append(Frame(bytes(self._buffer[start:start + length])))
            self._consume(start + length)

    def _consume(self, count: int) -> None:
        del self._buffer[:count]
        self._scanned = 0

    def _trim_garbage(self, out: list) -> None:
        """No header in the buffer: keep only what could still begin one."""
        if len(self._buffer) <= MAX_HEADER_BYTES:
            return
        keep = self._buffer.rfind(b"Content-Length", max(0, len(self._buffer) - MAX_HEADER_BYTES))
        cut = keep if keep >= 0 else len(self._buffer) - len(b"Content-Length")
        out.append(Dropped("no-header", f"{cut} bytes without a Content-Length header", bytes(self._buffer[:KEEP_OF_OVERSIZED])))
        self._consume(cut)


REQUEST_ID = re.compile(rb'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')


def request_id_in(head: bytes) -> int | str | None:
    """The id of a request whose message could not be read, when its bytes show one, so
    the client can still be answered."""
    if b'"method"' not in head or (match := REQUEST_ID.search(head)) is None:
        return None
    raw = match.group(1)
    return int(raw) if raw[:1] != b'"' else raw[1:-1].decode("utf-8", "replace")
