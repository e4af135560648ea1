"""The text around the cursor, split the ways later stages need it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CursorContext:
    prefix: str        # everything before the cursor
    suffix: str        # everything after the cursor
    line_prefix: str   # the cursor's line, left of the cursor
    line_suffix: str   # the cursor's line, right of the cursor (without the newline)

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
