"""What the model reads, within a token budget counted with the real tokenizer.

Priorities, so that extra context never pushes out the lines next to the cursor:
  1. the suffix's head (at most SUFFIX_SHARE of the budget),
  2. cross-file snippets (at most CROSS_FILE_SHARE, and never more than leaves
     NEAR_SHARE for the prefix),
  3. the prefix, whole lines back from the cursor, with the headers of the enclosing
     class/def put back when the window cuts them off.
The prefix window starts on a line that only moves in steps of SNAP_LINES as the user
types, and the stable pieces (snippets, headers) come first: consecutive prompts then
share their first tokens, which a KV cache can reuse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from completion.crossfile import Snippet
from completion.syntax import Header

SUFFIX_SHARE = 0.25
CROSS_FILE_SHARE = 0.2
NEAR_SHARE = 0.5
SNAP_LINES = 16
CHARS_PER_TOKEN = 4.5  # first guess for code; the measured ratio refines it
MAX_CHARS_PER_TOKEN = 16

Encode = Callable[[str], list[int]]


@dataclass(frozen=True)
class ContextWindow:
    preamble: str                 # snippets and cut-off headers, before the prefix
    prefix: str                   # whole lines up to the cursor
    suffix: str                   # from the cursor, whole lines
    preamble_ids: tuple[int, ...]
    prefix_ids: tuple[int, ...]
    suffix_ids: tuple[int, ...]
    first_line: int               # the document line the prefix window starts on
    snippets: tuple[str, ...] = ()  # "path:name" of each cross-file definition included

    @property
    def tokens(self) -> int:
        return len(self.preamble_ids) + len(self.prefix_ids) + len(self.suffix_ids)


def _line_starts(text: str) -> list[int]:
    starts, position = [0], text.find("\n")
    while position >= 0:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    return starts


def _suffix_window(suffix: str, budget: int, encode: Encode) -> tuple[str, list[int]]:
    """The suffix's head within `budget` tokens, ending at a line end where possible."""
    if budget <= 0 or not suffix.strip():
        return "", []
    window = suffix[: int(budget * CHARS_PER_TOKEN * 1.5)]
    ids = encode(window)
    while len(ids) > budget:
        cut = window.rfind("\n", 0, max(1, int(len(window) * budget / len(ids))))
        window = window[:cut + 1] if cut > 0 else window[: int(len(window) * budget / len(ids))]
        ids = encode(window)
    return window, ids


def _prefix_window(prefix: str, budget: int, encode: Encode, snap: bool) -> tuple[int, list[int]]:
    """(start offset, ids) of the longest line-aligned tail of `prefix` within `budget`
    tokens, its start snapped to a multiple of SNAP_LINES when the whole prefix does not fit."""
    # Only the tail can fit: no token is longer than MAX_CHARS_PER_TOKEN characters.
    base = max(0, len(prefix) - budget * MAX_CHARS_PER_TOKEN)
    newline = prefix.find("\n", base) if base else -1
    # A cursor's line longer than that is read from `base`, not from its start: only its
    # tail can fit, and encoding a minified line whole took seconds.
    base = newline + 1 if newline >= 0 else base
    starts = [base + start for start in _line_starts(prefix[base:])]
    cursor_line = len(starts) - 1

    def first_line_after(offset: float) -> int:
        return next((i for i, start in enumerate(starts) if start >= offset), cursor_line)

    first = first_line_after(len(prefix) - budget * CHARS_PER_TOKEN)
    for refit in (True, False):  # a first guess, then one refit with the measured ratio
        ids = encode(prefix[starts[first]:])
        while len(ids) > budget and first < cursor_line:
            excess = (len(ids) - budget) / len(ids)  # drop lines in proportion to it
            first = min(cursor_line, first + max(1, int((cursor_line - first) * excess)))
            ids = encode(prefix[starts[first]:])
        if len(ids) > budget:  # the cursor's line alone is over the budget
            return starts[first], ids[len(ids) - budget:] if budget > 0 else []
        if not refit or starts[first] == 0 or len(ids) >= 0.9 * budget:
            break
        chars_per_token = (len(prefix) - starts[first]) / max(1, len(ids))
        first = first_line_after(len(prefix) - budget * chars_per_token * 0.95)
    if starts[first] > 0 and snap:
        # Snap on absolute line numbers, so the window's start does not move while typing;
        # a small window snaps on a finer grid rather than lose its lines near the cursor.
        number = prefix.count("\n", 0, starts[first])
        for grid in (SNAP_LINES, SNAP_LINES // 4):
            skipped = (-number) % grid
            if skipped * 4 <= cursor_line - first:  # keeps three quarters of the window
                if skipped:
                    first += skipped
                    ids = encode(prefix[starts[first]:])
                break
    return starts[first], ids


def build_context(
    prefix: str, suffix: str, budget: int, encode: Encode, encode_continuation: Encode | None = None,
    headers: Sequence[Header] = (), header_offsets: Sequence[int] = (),
    snippets: Sequence[Snippet] = (), use_suffix: bool = True,
) -> ContextWindow:
    """Split `budget` tokens between suffix, snippets and prefix. `header_offsets` are the
    code-point offsets in `prefix` where each of `headers` starts. `encode_continuation`
    encodes a piece that does not start the prompt (SentencePiece tokenizers would add a
    leading space to it otherwise) and the suffix."""
    encode_continuation = encode_continuation or encode
    suffix_text, suffix_ids = _suffix_window(suffix, int(budget * SUFFIX_SHARE), encode_continuation) \
        if use_suffix else ("", [])
    left = budget - len(suffix_ids)

    # Snippets: within their share and never into the near half of the prefix; each once.
    snippet_room = min(int(budget * CROSS_FILE_SHARE), left - int(budget * NEAR_SHARE))
    chosen, snippet_text, snippet_tokens = [], "", 0
    for snippet in snippets:
        if snippet.text in prefix or snippet.text in snippet_text:
            continue
        tokens = len(encode(snippet.text)) + 1  # +1: tokenisation may differ at the seam
        if snippet_tokens + tokens <= snippet_room:
            chosen.append(snippet.label)
            snippet_text, snippet_tokens = snippet_text + snippet.text, snippet_tokens + tokens
    left -= snippet_tokens

    # The prefix window; the headers of enclosing scopes it cuts off come back above it.
    start, prefix_ids = _prefix_window(prefix, left, encode, snap=True)
    header_tokens = 0
    for _ in range(3):  # a smaller window may cut off one more header: refit until stable
        needed = len(encode(_cut_off_headers(headers, header_offsets, start))) + 1
        if needed <= header_tokens + 1:
            break
        header_tokens = needed
        start, prefix_ids = _prefix_window(prefix, left - header_tokens, encode, snap=True)
    cut_off = [(h, o) for h, o in zip(headers, header_offsets) if o < start]
    while cut_off and len(encode(_cut_off_headers(*zip(*cut_off), start))) + 1 > left - len(prefix_ids):
        cut_off.pop(0)  # no room for all: the innermost headers matter most
    header_text = _cut_off_headers(*zip(*cut_off), start) if cut_off else ""
    preamble = snippet_text + header_text
    preamble_ids = encode(preamble) if preamble else []
    if preamble:  # the window no longer starts the prompt; keep at most the ids budgeted
        prefix_ids = encode_continuation(prefix[start:])[-len(prefix_ids):] if prefix_ids else []
    # The seams between pieces may tokenise a little differently: never exceed the budget.
    excess = len(preamble_ids) + len(prefix_ids) + len(suffix_ids) - budget
    if excess > 0:
        preamble_ids = preamble_ids[excess:] if len(preamble_ids) >= excess else []
    return ContextWindow(preamble, prefix[start:], suffix_text, tuple(preamble_ids), tuple(prefix_ids),
                         tuple(suffix_ids), prefix.count("\n", 0, start), tuple(chosen))


def _cut_off_headers(headers: Sequence[Header], offsets: Sequence[int], window_start: int) -> str:
    return "".join(header.text + "\n" for header, offset in zip(headers, offsets) if offset < window_start)
