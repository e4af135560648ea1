"""Should we complete here, and how much: nothing, the rest of the line, or a block."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from completion.brackets import open_quote
from completion.cursor import CursorContext, lines_after_first, lines_before_last
from completion.indent import indent_width
from completion.syntax import SyntaxAtCursor


class Mode(str, Enum):
    """How much to complete (the value is what logs and the wire show)."""
    SINGLE_LINE = "single-line"
    MULTI_LINE = "multi-line"
    NONE = "none"

    def __str__(self) -> str:
        return self.value


SINGLE_LINE, MULTI_LINE, NONE = Mode.SINGLE_LINE, Mode.MULTI_LINE, Mode.NONE

_WORD = re.compile(r"\w")
# A comment worth continuing says something already: two words, or (for scripts written
# without spaces, like Chinese) eight characters.
MIN_COMMENT_WORDS = 2
MIN_COMMENT_CHARS = 8


@dataclass(frozen=True)
class Decision:
    mode: Mode
    reason: str  # why, for logs and tests

    @property
    def complete(self) -> bool:
        return self.mode != NONE


def _skip(reason: str) -> Decision:
    return Decision(NONE, reason)


# Whitespace before a `#`: where a trailing comment may start.
_COMMENT_START = re.compile(r"\s#")


def _without_comment(line: str) -> str:
    """`line` without a trailing comment: one that follows whitespace, with no quote after
    its `#` (the line's last quote starts the search, so no regex backtracks over it)."""
    last_quote = max(line.rfind("'"), line.rfind('"'))
    comment = _COMMENT_START.search(line, last_quote + 1)
    return line[:comment.start()] if comment else line


def _previous_code_line(prefix: str) -> str:
    """The last non-blank line before the cursor's line, without a trailing comment (one
    within NEAR_CHARS of the cursor)."""
    for line in lines_before_last(prefix):
        if line.strip():
            return _without_comment(line.rstrip("\r")).rstrip()
    return ""


def _next_code_line(suffix: str) -> str | None:
    for line in lines_after_first(suffix):
        if line.strip():
            return line.rstrip("\r")
    return None


_BLOCK_KEYWORD = re.compile(r"(def|class|if|elif|else|for|while|try|except|finally|with|match|case)\b")


def is_block_header(line: str) -> bool:
    """A compound statement's header line: a keyword first, a colon last (a dict entry or a
    slice ends with a colon too, but starts otherwise)."""
    stripped = line.strip()
    if not stripped.endswith(":"):
        return False
    if stripped.startswith("async") and stripped[5:6].isspace():
        # Not `(async\s+)?` in the regex: it backtracked over every space after `async`.
        stripped = stripped[5:].lstrip()
    return _BLOCK_KEYWORD.match(stripped) is not None


def opens_empty_block(context: CursorContext) -> bool:
    """The cursor is on a blank line right after a `...:` header whose body is still empty."""
    header = _previous_code_line(context.prefix)
    if not is_block_header(header):
        return False
    following = _next_code_line(context.suffix)
    return following is None or indent_width(following) <= indent_width(header)


def decide(context: CursorContext, syntax: SyntaxAtCursor, setting: str) -> Decision:
    """`setting` is the user's `multiline` option: auto, always or never."""
    right = context.line_suffix
    if right[:1] and _WORD.match(right[:1]):
        return _skip("mid-identifier: a word continues right of the cursor")
    if syntax.in_comment:
        said = syntax.comment_before_cursor.lstrip("#").strip()
        if right.strip() or (len(said.split()) < MIN_COMMENT_WORDS and len(said) < MIN_COMMENT_CHARS):
            return _skip("inside a comment")
        return Decision(SINGLE_LINE, "continuing a comment")
    unterminated = not syntax.in_interpolation and open_quote(context.line_prefix) in ("'", '"')
    if (syntax.in_string and not syntax.in_docstring) or unterminated:
        return _skip("inside a string")
    if setting == "always":
        return Decision(MULTI_LINE, "multiline setting: always")
    if setting == "never":
        return Decision(SINGLE_LINE, "multiline setting: never")
    if syntax.in_docstring:
        return Decision(SINGLE_LINE, "continuing a docstring")
    inside_brackets = bool(context.open_brackets)
    if context.line_prefix.strip():
        if is_block_header(context.line_prefix) and not right.strip() and not inside_brackets:
            return Decision(MULTI_LINE, "end of a block header: its body")
        return Decision(SINGLE_LINE, "mid-statement: finish the line")
    if inside_brackets:
        return Decision(SINGLE_LINE, "blank line inside brackets")
    if opens_empty_block(context):
        return Decision(MULTI_LINE, "empty block after a header")
    return Decision(MULTI_LINE, "blank line between statements")
