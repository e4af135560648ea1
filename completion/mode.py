"""How much to complete: the rest of the line, or a block of lines."""

from __future__ import annotations

from completion.cursor import CursorContext
from completion.syntax import SyntaxAtCursor

SINGLE_LINE = "single-line"
MULTI_LINE = "multi-line"


def decide_mode(context: CursorContext, syntax: SyntaxAtCursor, setting: str) -> str:
    """`setting` is the user's `multiline` option: auto, always or never."""
    if setting == "always":
        return MULTI_LINE
    if setting == "never":
        return SINGLE_LINE
    if syntax.in_string or syntax.in_comment:
        return SINGLE_LINE
    # Text left of the cursor means the user is mid-statement: finish that line only.
    # An empty or indentation-only line is the start of new statements: a block.
    return MULTI_LINE if not context.line_prefix.strip() else SINGLE_LINE
