"""Indentation widths, with one tab width shared by every stage that compares them (a
stop rule counting a tab as 8 columns and a re-indenter counting 4 would disagree about
whether a model's 4-space line in a tab file is a dedent)."""

from __future__ import annotations

from completion.bounds import NEAR_CHARS

TAB_WIDTH = 4


def leading(line: str) -> str:
    """The spaces and tabs `line` starts with, NEAR_CHARS at most: deeper is deep enough,
    and every stage measures indentation on each request (`lstrip` took 20 ms a call on a
    line of 900,000 spaces)."""
    head = line[:NEAR_CHARS]
    return head[: len(head) - len(head.lstrip(" \t"))]


def indent_width(line: str, column: int = 0) -> int:
    """The column `line`'s code starts at, when the line itself starts at `column` (a tab
    goes on to the next multiple of TAB_WIDTH)."""
    offset = column % TAB_WIDTH
    return column - offset + len((" " * offset + leading(line)).expandtabs(TAB_WIDTH))


def same_line(a: str, b: str) -> bool:
    """Equal code at equal depth, whatever mix of tabs and spaces indents it."""
    return indent_width(a) == indent_width(b) and a.strip() == b.strip()
