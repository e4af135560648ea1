"""From the model's text to the suggestion shown: named steps, each a pure function.

  trim_suffix_overlap  lines the completion ends with that the suffix already starts with
  fit_line_tail        the auto-closed `)]}"'` right of the cursor: drop it from the
                       completion, or let the suggestion replace it
  normalise_indent     the file's indentation (tabs, or its width of spaces)
  syntax guard         (completion/guard.py) a shorter cut when the text breaks the file
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from completion.cursor import CursorContext

LINE_TAIL_CHARS = set(")]}\"'`:;, \t")
TAB_WIDTH = 4  # how wide a model's tab is taken to be when it mixes them with spaces


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


def fit_line_tail(text: str, line_suffix: str) -> Suggestion:
    """Text right of the cursor made of closers and quotes (auto-closed by the editor):
    when the completion ends with it, don't insert it twice; when the completion's line
    holds it further in (`x).strip()` before `)`), replace it."""
    tail = line_suffix.strip()
    if not tail or not set(line_suffix) <= LINE_TAIL_CHARS:
        return Suggestion(text)
    first, newline, rest = text.partition("\n")
    if first.rstrip().endswith(tail):
        return Suggestion(first.rstrip()[: -len(tail)] + newline + rest)
    if not newline and _is_subsequence(tail, first):
        return Suggestion(first, replace_chars=len(line_suffix))
    return Suggestion(text)


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


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def normalise_indent(text: str, context: CursorContext, unit: str) -> str:
    """Re-indent the completion's later lines in the file's unit (tabs for a tab file,
    its width of spaces otherwise). The model's step is the greatest common divisor of
    the indent widths it used (and the cursor line's); each line keeps its level."""
    lines = text.split("\n")
    leads = [_leading(line) for line in lines[1:] if line.strip()]
    if not leads:
        return text
    if unit == "\t" and all(set(lead) <= {"\t"} for lead in leads):
        return text
    if unit != "\t" and all("\t" not in lead for lead in leads) \
            and all(len(lead) % len(unit) == 0 for lead in leads):
        return text
    widths = [len(lead.expandtabs(TAB_WIDTH)) for lead in [context.indent, *leads]]
    model_unit = math.gcd(*widths)
    if model_unit == 0:
        return text
    return "\n".join([lines[0], *(
        unit * round(len(_leading(line).expandtabs(TAB_WIDTH)) / model_unit) + line.lstrip(" \t")
        if line.strip() else line for line in lines[1:])])


def drop_blank(text: str) -> str:
    return text if text.strip() else ""


def postprocess(text: str, context: CursorContext, single_line: bool, unit: str) -> Suggestion:
    """The model's finished text (stop rules applied) → what the editor shows."""
    text = trim_suffix_overlap(text, context.suffix)
    text = normalise_indent(text, context, unit)
    suggestion = fit_line_tail(text, context.line_suffix) if single_line or "\n" not in text \
        else Suggestion(text)
    return Suggestion(drop_blank(suggestion.text), suggestion.replace_chars if suggestion.text.strip() else 0)

