"""From the model's text to the suggestion shown: named steps, each a pure function.

  trim_suffix_overlap  lines the completion ends with that the suffix already starts with
  cut_suffix_repeats   from the first line that writes the suffix's next line again (at
                       any depth) or defines again the name the suffix defines next
  fit_line_tail        the auto-closed `)]}"'` right of the cursor: drop it from the
                       completion, or let the suggestion replace it
  normalise_indent     the file's indentation (tabs, or its width of spaces)
  cut_comment_over_code  a `#` the suggestion leaves before code right of the cursor
                       (it would comment the user's code out)
  syntax guard         (completion/guard.py) a shorter cut when the text breaks the file
                       by tree-sitter's count, and (completion/validity.py) by CPython's
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from completion.bounds import NEAR_CHARS
from completion.brackets import CLOSERS, first_close_of_open
from completion.cursor import CursorContext, lines_after_first
from completion.indent import TAB_WIDTH, indent_width, leading

LINE_TAIL_CHARS = set(")]}\"'`:;, \t")
MODEL_STEPS = (2, 3, 4, 8)  # indentation steps a model plausibly uses
_DEFINES = re.compile(r"(?:async\s+)?(?:def|class)\s+(\w+)")
# Lines too common to count as repeating the suffix: punctuation, or one word (`pass`, `else:`).
_TRIVIAL_LINE = re.compile(r"[\W_]*|\w+:?")


@dataclass(frozen=True)
class Suggestion:
    text: str               # inserted at the cursor ...
    replace_chars: int = 0  # ... in place of this many code points right of it


def trim_suffix_overlap(text: str, suffix: str) -> str:
    """Drop trailing lines of `text` that repeat the suffix's first lines (the model wrote
    code that is already below the cursor)."""
    lines = text.split("\n")
    head = suffix[: len(text) * 4 + 200]  # enough of the suffix to hold as many lines
    following = [line.strip() for line in head.split("\n")[1:] if line.strip()]
    for count in range(min(len(lines) - 1, len(following)), 0, -1):
        tail = [line.strip() for line in lines[-count:]]
        if tail == following[:count]:
            return "\n".join(lines[:-count]).rstrip()
    return text


def _defined_name(line: str) -> str | None:
    match = _DEFINES.match(line.strip())
    return match.group(1) if match else None


def _in_a_block_it_opened(lines: list[str], index: int) -> bool:
    """Line `index` of a completion is the body of a header the completion wrote (`if not
    line:` then `return lines` before the suffix's own `return lines`: an early exit, not
    a repeat)."""
    width = indent_width(lines[index])
    parent = next((line for line in reversed(lines[:index]) if line.strip() and indent_width(line) < width), None)
    return parent is not None and parent.rstrip().endswith(":")


def cut_suffix_repeats(text: str, context: CursorContext) -> str:
    """`text` up to its first line that the suffix makes redundant: one that writes the
    suffix's next code line again, at any depth (the model looping back over what follows;
    the stop rule only sees the same depth), or one that defines the name the suffix's next
    definition defines (a second `def load` above `def load`). The first line counts with
    the cursor's line prefix; when it is the one, nothing is left."""
    following = [line.strip() for line in lines_after_first(context.suffix) if line.strip()]
    next_line = following[0] if following else ""
    defined_next = next((name for name in map(_defined_name, following) if name), None)
    lines = text.split("\n")
    whole_lines = [context.line_prefix[-NEAR_CHARS:] + lines[0], *lines[1:]]
    for index, whole in enumerate(whole_lines):
        repeats = whole.strip() == next_line and not _TRIVIAL_LINE.fullmatch(next_line) \
            and not _in_a_block_it_opened(whole_lines, index)
        if repeats or (defined_next is not None and _defined_name(whole) == defined_next):
            return "\n".join(lines[:index]).rstrip()
    return text


def fit_line_tail(text: str, line_suffix: str, open_brackets: str = "") -> Suggestion:
    """The rest of the cursor's line, when the completion writes it again:
    - a completion ending with it (`a, b)` before `)`, `qty + shipping` before
      ` + shipping`) drops it, unless the completion needs it for its own brackets
      (`len(items)` before `)` keeps its `)`: the tail closes the prefix's `(`);
    - a completion that closes the prefix's bracket further in (`x).strip()` before `)`)
      replaces the tail, when the tail is only closers and quotes (auto-closed by the editor).
    `open_brackets` are the brackets the prefix left open, innermost last."""
    tail = line_suffix.strip()
    first, newline, rest = text.partition("\n")
    if not tail:
        return Suggestion(text)
    closes_at = first_close_of_open(first, open_brackets)
    closer_tail = tail[0] in CLOSERS
    if first.rstrip().endswith(tail):
        head = first.rstrip()[: -len(tail)]
        # Dropping a leading closer is right only if the completion closes the prefix's
        # bracket exactly there, with the tail's own character.
        if not closer_tail or closes_at == len(head):
            return Suggestion(head.rstrip() if not closer_tail else head) if not newline else \
                Suggestion(head + newline + rest)
    if not newline and closer_tail and set(line_suffix) <= LINE_TAIL_CHARS and closes_at is not None \
            and _is_subsequence(tail, first[closes_at:]):
        return Suggestion(first, replace_chars=len(line_suffix))
    return Suggestion(text)


def comment_start(line: str) -> int | None:
    """Where a `#` outside string literals starts a comment in `line`, or None."""
    quote, index = "", 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\":
                index += 1
            elif line.startswith(quote, index):
                index += len(quote) - 1
                quote = ""
        elif char == "#":
            return index
        elif char in "'\"":
            quote = char * 3 if line.startswith(char * 3, index) else char
            index += len(quote) - 1
        index += 1
    return None


def cut_comment_over_code(text: str, context: CursorContext) -> str:
    """Code right of the cursor joins the suggestion's last line: a comment there would
    swallow it (`    # implement this` before ` b:` turns `while b:` into a comment). Cut
    before the `#`. (A cursor already in a comment is left alone.)"""
    tail = context.line_suffix.strip()
    if not tail or tail.startswith("#"):
        return text
    start = text.rfind("\n") + 1
    # A one-line suggestion continues the cursor's line: quotes opened left of it count.
    line = text[start:] if start else context.line_prefix[-NEAR_CHARS:] + text
    offset = start if start else len(text) - len(line)
    comment = comment_start(line)
    if comment is None or offset + comment < 0:
        return text
    return text[:offset + comment].rstrip(" \t")


def _is_subsequence(needle: str, haystack: str) -> bool:
    characters = iter(haystack)
    return all(char in characters for char in needle)


def indent_unit(text: str) -> str:
    """The file's indentation step: a tab, or the most common width of spaces by which a
    line indents past a line that ends with a colon (4 when the file does not say)."""
    steps: Counter[str] = Counter()
    previous = None
    for line in text.split("\n")[:5000]:
        if not line.strip():
            continue
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if previous is not None and previous[1].endswith(":") and len(indent) > len(previous[0]) \
                and indent.startswith(previous[0]):
            steps[indent[len(previous[0]):]] += 1
        previous = (indent, line.rstrip())
    if not steps:
        return "    "
    step = steps.most_common(1)[0][0]
    return "\t" if "\t" in step else step if step.strip(" ") == "" else "    "


def normalise_indent(text: str, context: CursorContext, unit: str) -> str:
    """Re-indent the completion's later lines in the file's unit (a tab, or its width of
    spaces). Each line's depth below the cursor's line is read in the model's own step
    (its smallest indentation step, when that is 2, 3, 4 or 8 columns) and rewritten as
    that many of the file's units; leftover columns (continuation lines aligned under a
    bracket) stay spaces."""
    lines = text.split("\n")
    base = context.indent
    base_width = indent_width(base)
    deltas = [indent_width(line) - base_width for line in lines[1:] if line.strip()]
    if not deltas:
        return text
    # On a blank line the first line may bring its own indentation: it is one of the steps.
    first_depth = indent_width(base + leading(lines[0])) - base_width
    steps = sorted({d for d in (first_depth, *deltas) if d > 0})
    step = steps[0] if steps and steps[0] in MODEL_STEPS else TAB_WIDTH if not steps else None
    unit_width = indent_width(unit)
    already = all(leading(line).startswith(base) and set(leading(line)[len(base):]) <= set(unit)
                  for line in lines[1:] if line.strip())
    if step is None or (already and step == unit_width):
        return text

    def reindent(line: str) -> str:
        delta = indent_width(line) - base_width
        if not line.strip() or delta < 0:
            return line
        levels, extra = divmod(delta, step)
        return base + unit * levels + " " * extra + line.lstrip(" \t")

    # On a blank line the first line's own indentation is the model's too.
    first = reindent(base + lines[0])[len(base):] if not context.line_prefix.strip() else lines[0]
    return "\n".join([first, *map(reindent, lines[1:])])


def drop_blank(text: str) -> str:
    return text if text.strip() else ""


def postprocess(text: str, context: CursorContext, single_line: bool, unit: str,
                open_brackets: str = "") -> Suggestion:
    """The model's finished text (stop rules applied) → what the editor shows."""
    text = trim_suffix_overlap(text, context.suffix)
    text = cut_suffix_repeats(text, context)
    text = normalise_indent(text, context, unit)
    text = cut_comment_over_code(text, context)
    suggestion = fit_line_tail(text, context.line_suffix, open_brackets) if single_line or "\n" not in text \
        else Suggestion(text)
    return Suggestion(drop_blank(suggestion.text), suggestion.replace_chars if suggestion.text.strip() else 0)

