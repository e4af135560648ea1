"""Cut a completion that makes the file's syntax worse, by tree-sitter's count, to the
longest shorter cut that does not; drop it when no cut helps (a missing suggestion costs
the user nothing, a broken one their trust). CPython's parser judges next
(completion/validity.py).

The document with the suggestion applied is reparsed incrementally from the document's
own tree (a fraction of a millisecond on a 2,000-line file), and its problems are counted
against the document's: ERROR and MISSING nodes, plus empty blocks in the edited range
(tree-sitter-python parses a header with nothing under it, `if y > 10:`, without either).
Typing leaves a buffer broken more often than not, so the comparison is with what was
there, never with a clean parse: a completion that leaves as many problems as there were
is kept whole.

In a long document only a window is reparsed, whole lines within NEAR_CHARS of the edit
(from a top-level statement where one starts in reach), with and without each candidate:
tree-sitter re-reads all of a region that holds errors on every reparse, so a minified
200,000-character line cost seconds per candidate however far from the cursor it was.
Whatever the window's edges break is broken alike with and without the completion, and
the comparison is relative.
"""

from __future__ import annotations

import re

from tree_sitter import Node, Tree

from completion.bounds import NEAR_CHARS
from completion.syntax import count_errors, parse

MAX_CUTS = 6  # shorter cuts tried, longest first
_STATEMENT_START = re.compile(rb"\n(?=[^\s#])")
_LINE_START = re.compile(rb"\n")


def _point(source: bytes, offset: int) -> tuple[int, int]:
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


def empty_blocks(node: Node, start: int, end: int) -> int:
    """Blocks with no statement that overlap bytes start..end."""
    if node.end_byte < start or node.start_byte > end:
        return 0
    own = int(node.type == "block" and node.named_child_count == 0)
    return own + sum(empty_blocks(child, start, end) for child in node.named_children
                     if child.end_byte >= start and child.start_byte <= end)


def problems(tree: Tree, start: int, end: int) -> int:
    return count_errors(tree.root_node) + empty_blocks(tree.root_node, start, end)


def errors_with(tree: Tree, source: bytes, start: int, end: int, insert: bytes) -> int:
    """Problems of `source` with bytes start..end replaced by `insert`."""
    new_source = source[:start] + insert + source[end:]
    edited = tree.copy()
    new_end = start + len(insert)
    edited.edit(start, end, new_end, _point(source, start), _point(source, end), _point(new_source, new_end))
    return problems(parse(new_source, edited), start, new_end)


def cuts(text: str) -> list[str]:
    """Shorter versions of `text`, longest first: whole lines for a block, else up to the
    end of each word or closing bracket."""
    if "\n" in text:
        lines = text.split("\n")
        candidates = ["\n".join(lines[:n]).rstrip() for n in range(len(lines) - 1, 0, -1)]
    else:
        ends = [m.end() for m in re.finditer(r"\w+|[)\]}]", text)]
        candidates = [text[:end] for end in reversed(ends) if end < len(text)]
    return [c for c in candidates if c.strip()][:MAX_CUTS]


def window(source: bytes, start: int, end: int) -> tuple[int, int]:
    """Bytes low..high of `source` that the guard reparses for an edit of start..end: the
    whole document when it is short."""
    low, high = max(0, start - NEAR_CHARS), min(len(source), end + NEAR_CHARS)
    if low > 0:  # from the first unindented code line in reach, else the first line start
        line = _STATEMENT_START.search(source, low - 1, start) or _LINE_START.search(source, low - 1, start)
        low = line.end() if line else low  # none: inside a huge line
    if high < len(source):
        newline = source.rfind(b"\n", end, high)
        high = newline + 1 if newline >= 0 else high
    return low, high


def guard(tree: Tree, source: bytes, cursor: int, replace_bytes: int, text: str) -> tuple[str, bool]:
    """(text to show, whether it was cut or dropped). `cursor` and `replace_bytes` are in bytes.

    Cut when the whole text leaves more problems than the document had, or when a shorter
    cut leaves fewer than the whole text does (it fixed the line being typed and then broke
    something: `x = ` + `foo(a))`). Dropped ("") when the whole text leaves more problems
    than the document had and no cut leaves at most as many."""
    encode = lambda s: s.encode("utf-8", "surrogatepass")  # noqa: E731 - one line, used thrice
    end = cursor + replace_bytes
    low, high = window(source, cursor, end)
    if (low, high) != (0, len(source)):
        source, cursor, end = source[low:high], cursor - low, end - low
        tree = parse(source)
    before = problems(tree, cursor, end)
    whole = errors_with(tree, source, cursor, end, encode(text))
    if whole == 0:
        return text, False
    # A suggestion that replaces the line's tail carries that tail: no cut can keep it.
    for candidate in cuts(text) if not replace_bytes else []:
        after = errors_with(tree, source, cursor, end, encode(candidate))
        if after <= before and (after < whole or whole > before):
            return candidate, True
    if whole > before:
        return "", True  # worse than the document, and no cut mends it
    return text, False  # no worse than the document, and no cut is better
