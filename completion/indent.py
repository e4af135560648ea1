"""Indentation widths, with one tab width shared by every stage that compares them (a
stop rule counting a tab as 8 columns and a re-indenter counting 4 would disagree about
whether a model's 4-space line in a tab file is a dedent)."""

from __future__ import annotations

TAB_WIDTH = 4


def leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(line: str) -> int:
    return len(leading(line).expandtabs(TAB_WIDTH))


def same_line(a: str, b: str) -> bool:
    """Equal code at equal depth, whatever mix of tabs and spaces indents it."""
    return indent_width(a) == indent_width(b) and a.strip() == b.strip()
