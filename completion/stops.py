"""Where a completion ends: checked while tokens arrive, and applied to the final text.

Single-line: at the first newline, unless the line ends a block header with no body
below it yet and multi-line completions are allowed: then the header's body follows, as
in multi-line mode (a header alone is never shown, completion/validity.py).
Multi-line: before the first line that leaves the cursor's block (dedents below it; at
the end of a `...:` header, does not indent past it), before a line that repeats the
suffix's next line at the same depth, or at a blank-line pair. Both: before a closing bracket that closes nothing the prefix or the completion
opened (the model running on past the expression it was asked to finish), and at the
start of a loop's second copy: a repeated block of lines, a unit repeated back to back, a
parameter named twice (completion/repetition.py). Generation stops as soon as one forms.
"""

from __future__ import annotations

import re

from completion.bounds import NEAR_CHARS
from completion.brackets import first_unmatched_closer
from completion.cursor import CursorContext, lines_after_first
from completion.decide import SINGLE_LINE, is_block_header
from completion.indent import indent_width, leading, same_line
from completion.repetition import prefix_tail, repetition_cut


_DEFINITION = re.compile(r"(async\s+def|def|class)\s")


class StopRule:
    def __init__(self, mode: str, context: CursorContext, header_body: bool = False):
        """`header_body`: in single-line mode, a line that ends a block header may go on with
        its body (the user allows multi-line completions)."""
        self.mode = mode
        # The cursor's line is measured once here, not on every token (it may be enormous).
        self.line_indent = indent_width(context.line_prefix)
        # On a blank line of spaces and tabs, the completion's first line continues its indentation.
        self.indent_continues = not context.line_prefix.strip() and leading(context.line_prefix) == context.line_prefix
        self.suffix_next_line = next((line.rstrip("\r") for line in lines_after_first(context.suffix)
                                      if line.strip()), None)
        # At the end of a `...:` header, the completion is its body: deeper than the header.
        self.after_header = is_block_header(context.line_prefix)
        self.open_brackets = context.open_brackets
        self.line_prefix_tail = context.line_prefix[-NEAR_CHARS:]
        # The last lines before the cursor, read once: a completion that repeats them loops.
        self.prefix_tail, self.line_blank = prefix_tail(context.prefix)
        body_below = self.suffix_next_line is not None and indent_width(self.suffix_next_line) > self.line_indent
        self.header_body = header_body and mode == SINGLE_LINE and not context.line_suffix.strip() \
            and not body_below

    def cut_point(self, text: str) -> int | None:
        """Index where `text` must end, if what has arrived already decides it."""
        cuts = [cut for cut in (first_unmatched_closer(text, self.open_brackets), self._line_cut(text),
                                repetition_cut(text, self.prefix_tail, self.line_blank))
                if cut is not None]
        return min(cuts) if cuts else None

    def opens_a_body(self, text: str) -> bool:
        """Single-line mode goes on past `text`'s first line: it ends a header with no body."""
        newline = text.find("\n")
        return self.header_body and newline >= 0 and is_block_header(self.line_prefix_tail + text[:newline])

    def _line_cut(self, text: str) -> int | None:
        if self.mode == SINGLE_LINE:
            if self.opens_a_body(text):
                return self._block_cut(text, after_header=True)
            newline = text.find("\n")
            return newline if newline >= 0 else None
        return self._block_cut(text, self.after_header)

    def _block_cut(self, text: str, after_header: bool) -> int | None:
        lines = text.split("\n")
        first = lines[0]
        # On a blank line the completion may indent further itself: its first line sets the block.
        block_indent = indent_width(first, self.line_indent) if self.indent_continues else self.line_indent
        # A definition the completion starts is one suggestion: stop when the next statement
        # comes back to its level (control flow goes on: `if ...:` is followed by `else:`).
        one_definition = _DEFINITION.match(first.lstrip()) is not None
        position = len(first) + 1
        blank_run = 0
        # Only complete lines (followed by a newline) can decide; the last piece may still grow.
        for line in lines[1:-1]:
            line_start = position
            position += len(line) + 1
            if not line.strip():
                blank_run += 1
                if blank_run == 2:
                    return line_start - 1
                continue
            blank_run = 0
            indent = indent_width(line)
            if indent < block_indent or ((after_header or one_definition) and indent <= block_indent):
                return line_start - 1
            if self.suffix_next_line is not None and same_line(line, self.suffix_next_line):
                return line_start - 1
        return None

    def should_stop(self, text: str) -> bool:
        return self.cut_point(text) is not None

    def finish(self, text: str, hit_token_limit: bool) -> str:
        """The text to show: cut at the stop, without trailing blank lines or half lines."""
        cut = self.cut_point(text)
        if cut is not None:
            text = text[:cut]
        elif hit_token_limit and (self.mode != SINGLE_LINE or self.opens_a_body(text)) and "\n" in text.strip("\n"):
            text = text[: text.rstrip("\n").rfind("\n")]  # never end on half a line
        text = text.rstrip()
        return text if text.strip() else ""
