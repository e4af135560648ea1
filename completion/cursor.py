"""The text around the cursor, split the ways later stages need it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from completion.bounds import NEAR_CHARS
from completion.brackets import statement_tail, unclosed_brackets


@dataclass(frozen=True)
class CursorContext:
    prefix: str        # everything before the cursor
    suffix: str        # everything after the cursor
    line_prefix: str   # the cursor's line, left of the cursor
    line_suffix: str   # the cursor's line, right of the cursor (without the newline)

    @cached_property
    def open_brackets(self) -> str:
        """The brackets the cursor's statement leaves open, innermost last: the decision
        and the stop rule both read them, so the prefix is scanned once per request."""
        return unclosed_brackets(statement_tail(self.prefix))

    @property
    def indent(self) -> str:
        return self.line_prefix[: len(self.line_prefix) - len(self.line_prefix.lstrip())]


def cursor_context(text: str, offset: int) -> CursorContext:
    """Split `text` at `offset` (code points; the caller has validated it)."""
    prefix, suffix = text[:offset], text[offset:]
    line_start = prefix.rfind("\n") + 1
    line_end = suffix.find("\n")
    line_suffix = suffix if line_end < 0 else suffix[:line_end]
    return CursorContext(prefix, suffix, prefix[line_start:], line_suffix.rstrip("\r"))


def lines_after_first(text: str, limit: int = NEAR_CHARS) -> Iterator[str]:
    """The lines of `text` after its first, lazily, that end within its first `limit`
    characters (the suffix can be a whole file, or one enormous line)."""
    start = text.find("\n", 0, limit)
    while start >= 0:
        end = text.find("\n", start + 1, limit)
        if end < 0:  # the last line: whole only if the text ends inside the window
            if len(text) <= limit:
                yield text[start + 1:]
            return
        yield text[start + 1:end]
        start = end


def lines_before_last(text: str, limit: int = NEAR_CHARS) -> Iterator[str]:
    """The lines of `text` before its last, newest first, lazily, that start within its
    last `limit` characters (the prefix, likewise)."""
    floor = max(0, len(text) - limit)
    end = text.rfind("\n", floor)
    while end >= 0:
        start = text.rfind("\n", floor, end)
        if start < 0 and floor > 0:  # the line starts before the window
            return
        yield text[start + 1:end]
        end = start
