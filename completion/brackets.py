"""Bracket balance of Python text, by a rough scan that skips strings and comments."""

from __future__ import annotations

import re

from completion.bounds import NEAR_CHARS

OPENERS, CLOSERS = "([{", ")]}"
MAX_STARTS_TRIED = 6


def unclosed_brackets(text: str) -> str:
    """The brackets `text` opens and does not close, innermost last. Strings and comments
    are skipped roughly, which is enough to tell argument lists from statements."""
    return _scan(text, [], stop_at_unmatched=False)[0]


def first_unmatched_closer(text: str, open_before: str) -> int | None:
    """Index of the first closing bracket in `text` that closes nothing (neither a bracket
    of `text` nor one of `open_before`, innermost last) or closes the wrong kind."""
    return _scan(text, list(open_before), stop_at_unmatched=True)[1]


def open_quote(line: str) -> str:
    """The quote a one-line `line` leaves open ('' when none): an unterminated string that
    tree-sitter reports only as an error. Only the line's last NEAR_CHARS characters are
    scanned (a character-by-character scan of a minified line would freeze the server)."""
    return _scan(line[-NEAR_CHARS:], [], stop_at_unmatched=False, want_quote=True)[2]


def first_close_of_open(text: str, open_before: str) -> int | None:
    """Index of the closer in `text` that closes one of `open_before` (the brackets the
    prefix left open), not one `text` opened itself."""
    return _scan(text, list(open_before), stop_at_unmatched=False, floor=len(open_before))[3]


def _scan(text: str, stack: list[str], stop_at_unmatched: bool, want_quote: bool = False,
          floor: int = 0) -> tuple[str, int | None, str, int | None]:
    """(open brackets, index of an unmatched closer, open quote, index where the stack
    first went below `floor`)."""
    quote, i, below = "", 0, None
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == "\n" and len(quote) == 1 and not want_quote:
                quote = ""  # an unterminated one-line string ends with its line
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif char == "#":
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        elif char in "'\"":
            quote = char * 3 if text.startswith(char * 3, i) else char
            i += len(quote) - 1
        elif char in OPENERS:
            stack.append(char)
        elif char in CLOSERS:
            if stack and OPENERS.index(stack[-1]) == CLOSERS.index(char):
                stack.pop()
                if below is None and len(stack) < floor:
                    below = i
            elif stop_at_unmatched:
                return "".join(stack), i, quote, below
        i += 1
    return "".join(stack), None, quote, below


def statement_tail(prefix: str, max_chars: int = NEAR_CHARS) -> str:
    """The prefix from the start of its current top-level statement, within `max_chars`:
    where a bracket scan can start without being fooled. A candidate start is an
    unindented line that is not a comment, and from which the scan does not end inside a
    string (a dedented line of a triple-quoted argument is not a statement)."""
    tail = prefix[-max_chars:]
    starts = [m.start() for m in re.finditer(r"(?m)^(?=[^\s#])", tail)]
    for start in reversed(starts[-MAX_STARTS_TRIED:]):
        if not _scan(tail[start:], [], stop_at_unmatched=False, want_quote=True)[2]:
            return tail[start:]
    return tail[starts[-1]:] if starts else tail
