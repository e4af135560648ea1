"""Never show a suggestion that leaves the file worse: CPython's own parser decides.

The rule, precisely
-------------------
The document is judged in *regions*: runs of whole lines around the cursor's line that
are complete Python on their own. They nest, innermost first:

  the cursor's statement   the cursor's line and the lines below it that belong to it
                           (a header's body, its `else:`/`except:` clauses, closing
                           brackets on their own line);
  each enclosing block     from each header above the cursor with less indentation (moved
                           up over its `if`/`try` when it is an `else:`/`except:`, and over
                           its decorators) down to the first line back at its level;
  the top-level statement  the last of these: a header at column 0.

A region is compiled with `compile(..., ast.PyCF_ONLY_AST)` (the parser only: `return`
or `await` out of their function is not a parse error), under `if 1:` when it is
indented, and it *compiles* when it parses and no function in it names a parameter twice
(`def __init__(self, name, value, value, …)` parses, but no interpreter accepts it).

The suggestion is valid when, going from the outermost region in reach inwards, the
first region that compiles either before or after the edit compiles after it:

  - after the edit it compiles: valid (the whole enclosing code is Python);
  - before it compiled, after it does not: invalid (the suggestion broke it);
  - neither: the region holds another error (elsewhere in the block, or the very line
    being typed, `x = `); look at the next region in;
  - no region compiles after the edit, down to the cursor's statement: invalid.

So a line being typed (`x = ` + `foo(a)`) is judged by the whole statement it makes,
errors elsewhere in the file or the block do not condemn a suggestion, and in single-line
mode a statement must come out complete: a keyword alone (`def`), a bracket the suffix
does not close, or a header (`def g():`) without a body already below it never compile.

An invalid suggestion is cut to its longest valid prefix, of whole lines when it has
several, else of tokens (up to the end of a word, a closing bracket, a quote or a
colon); with no valid prefix it is dropped: a missing suggestion costs the user nothing,
a broken one costs their trust.

Bounds: regions are read from at most NEAR_CHARS characters each side of the cursor. A
region that does not end within them is not judged, and neither is any larger one; when
not even the cursor's statement fits (a huge line), this check abstains and the
tree-sitter guard alone judges. A few kilobytes compile in well under a millisecond.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from completion.bounds import NEAR_CHARS
from completion.brackets import first_unmatched_closer, unclosed_brackets
from completion.cursor import CursorContext
from completion.indent import indent_width, leading

MAX_CUTS = 24  # shorter prefixes tried, longest first
_CLAUSE = re.compile(r"(elif|else|except|finally)\b")
_TOKEN_END = re.compile(r"\w+|[)\]}:'\"]")


@dataclass(frozen=True)
class Region:
    above: int  # whole lines above the cursor's line
    below: int  # whole lines below it


@dataclass(frozen=True)
class Lines:
    """The lines around the cursor that regions are read from (within NEAR_CHARS)."""
    above: list[str]          # nearest last
    below: list[str]          # nearest first
    line_prefix: str
    line_suffix: str
    top_is_file_start: bool   # `above` reaches the first line of the file
    bottom_is_file_end: bool  # `below` reaches the last line of the file


def near_lines(context: CursorContext) -> Lines:
    head_start = max(0, len(context.prefix) - NEAR_CHARS)
    above = context.prefix[head_start:].split("\n")[:-1]
    if head_start > 0 and above:
        above = above[1:]  # the window starts inside a line: not a whole one
    tail = context.suffix[:NEAR_CHARS]
    below = tail.split("\n")[1:]
    at_end = len(context.suffix) <= NEAR_CHARS
    if not at_end and below:
        below = below[:-1]
    return Lines([line.rstrip("\r") for line in above], [line.rstrip("\r") for line in below],
                 context.line_prefix, context.line_suffix, head_start == 0, at_end)


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _continues_statement(line: str, level: int) -> bool:
    """A line at `level` (or shallower) that still belongs to the statement above it: a
    clause of the same compound statement, or a closing bracket on its own line."""
    stripped = line.lstrip()
    return stripped[:1] in ")]}" or (indent_width(line) == level and _CLAUSE.match(stripped) is not None)


def _lines_below(lines: Lines, level: int, cursor_line: str) -> int | None:
    """How many lines below the cursor's line belong to a statement at `level`; None when
    the window ends first. A decorator's line goes on to what it decorates."""
    decorating = cursor_line.lstrip().startswith("@")
    for count, line in enumerate(lines.below):
        if not _is_code(line):
            continue
        if indent_width(line) <= level and not decorating and not _continues_statement(line, level):
            return count
        decorating = line.lstrip().startswith("@")
    return len(lines.below) if lines.bottom_is_file_end else None


def _statement_start(lines: Lines, index: int) -> int | None:
    """The line a statement whose header is `lines.above[index]` starts on: up over
    `else:`/`except:` to their `if`/`try`, and over decorators."""
    level = indent_width(lines.above[index])
    while index >= 0:
        line = lines.above[index]
        clause = _CLAUSE.match(line.lstrip()) is not None
        earlier = next((i for i in range(index - 1, -1, -1) if _is_code(lines.above[i])), None)
        decorated = earlier is not None and indent_width(lines.above[earlier]) == level \
            and lines.above[earlier].lstrip().startswith("@")
        if not clause and not decorated:
            return index
        if earlier is None or indent_width(lines.above[earlier]) < level:
            return None  # the `if` or `try` is out of reach (or the code is odd): no region
        index = earlier
    return None


def regions(lines: Lines, first_line: str, in_brackets: bool) -> list[Region]:
    """The regions around the cursor, innermost first. `first_line` is the cursor's line
    as the suggestion leaves it (it sets the statement's indentation)."""
    found: list[Region] = []
    level = indent_width(first_line)
    if not in_brackets:  # inside brackets the line is no statement's start
        below = _lines_below(lines, level, first_line)
        if below is None:
            return found
        found.append(Region(0, below))
    index = len(lines.above)
    while level > 0:
        index = next((i for i in range(index - 1, -1, -1)
                      if _is_code(lines.above[i]) and indent_width(lines.above[i]) < level), None)
        if index is None:
            if lines.top_is_file_start:
                break  # indented code under no header: nothing larger to judge
            return found
        level = indent_width(lines.above[index])
        start = _statement_start(lines, index)
        below = _lines_below(lines, level, "")
        if start is None or below is None:
            return found
        index = start
        found.append(Region(len(lines.above) - start, below))
    return found


def region_text(lines: Lines, region: Region, cursor_line: str) -> str:
    above = lines.above[len(lines.above) - region.above:]
    return "\n".join([*above, cursor_line, *lines.below[:region.below]]) + "\n"


def compiles(code: str) -> bool:
    """`code` parses as Python, indented or not, and names no parameter twice."""
    if leading(code):
        code = "if 1:\n" + code
    try:
        tree = compile(code, "<region>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        return False
    except (RecursionError, MemoryError):
        # CPython's parser gives up on deep nesting (`a.b.b.b…`, `1+1+1…`, `----1` a few
        # thousand long, all within a region's reach): no interpreter would run it either.
        return False
    return not any(_repeats_a_parameter(node) for node in ast.walk(tree))


def _repeats_a_parameter(node: ast.AST) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return False
    arguments = node.args
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                             arguments.vararg, arguments.kwarg) if a is not None]
    return len(names) != len(set(names))


class Judge:
    """Whether suggestions at one cursor leave the document valid (see the module's rule).
    What the regions were before the edit is computed once for all the cuts tried."""

    def __init__(self, context: CursorContext, replace_chars: int, in_brackets: bool):
        self.lines = near_lines(context)
        self.line_tail = context.line_suffix[replace_chars:]
        self.in_brackets = in_brackets
        self._compiled_before: dict[Region, bool] = {}

    def _before(self, region: Region) -> bool:
        if region not in self._compiled_before:
            cursor_line = self.lines.line_prefix + self.lines.line_suffix
            self._compiled_before[region] = compiles(region_text(self.lines, region, cursor_line))
        return self._compiled_before[region]

    def valid(self, text: str) -> bool | None:
        """None: no region is in reach, this check abstains."""
        edited = self.lines.line_prefix + text + self.line_tail
        found = regions(self.lines, edited.split("\n", 1)[0], self.in_brackets)
        if not found:
            return None
        for region in reversed(found):  # outermost first
            if compiles(region_text(self.lines, region, edited)):
                return True
            if self._before(region):
                return False
        return False


def prefixes(text: str) -> list[str]:
    """Shorter versions of `text`, longest first: whole lines for a block, else up to the
    end of each token."""
    if "\n" in text:
        lines = text.split("\n")
        candidates = ["\n".join(lines[:n]).rstrip() for n in range(len(lines) - 1, 0, -1)]
    else:
        ends = sorted({m.end() for m in _TOKEN_END.finditer(text)}, reverse=True)
        candidates = [text[:end].rstrip() for end in ends if end < len(text)]
    return [c for c in dict.fromkeys(candidates) if c.strip()][:MAX_CUTS]


def continues_a_bracket(context: CursorContext) -> bool:
    """The cursor's line is inside brackets an earlier line opened: no statement starts on it."""
    line = context.line_prefix[-NEAR_CHARS:]
    return len(context.open_brackets) > len(unclosed_brackets(line)) \
        or first_unmatched_closer(line, "") is not None


def keep_valid(text: str, context: CursorContext, replace_chars: int = 0) -> tuple[str, bool]:
    """(the longest valid prefix of `text`, or "" when none is valid; whether it changed).
    A suggestion that replaces the line's tail is judged whole: a cut would drop the tail
    it carries."""
    if len(context.line_prefix) + len(context.line_suffix) > NEAR_CHARS:
        return text, False  # the cursor's line alone is out of bounds: abstain
    judge = Judge(context, replace_chars, continues_a_bracket(context))
    verdict = judge.valid(text)
    if verdict is None or verdict:
        return text, False
    for candidate in prefixes(text) if not replace_chars else []:
        if judge.valid(candidate):
            return candidate, True
    return "", True
