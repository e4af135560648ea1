"""Degenerate repetition in a shown suggestion: the evaluation's own judge.

It is written apart from the server's detector (completion/repetition.py) and shares no
code with it, so the evaluation can count what that detector lets through. A suggestion
is judged joined to the text left of the cursor on its line (its first line is then
whole); it repeats when it holds one of:

  lines   a non-trivial line followed at once by the same line, or a block of 2 to
          MAX_BLOCK_LINES lines followed at once by the same block. Lines are compared
          stripped, blank lines skipped. Non-trivial: two words at least (not `pass`,
          `else:`, `)`), and not literals alone (`0, 0, 0, 0,` rows of a table). A block
          needs one line holding a word, a row of literals aside. Any line but a row of literals counts once it
          comes MIN_LINE_RUN times in a row (`#`, `pass`, `)` down the screen).
  loop    a chunk of 2 to MAX_CHUNK characters, holding a word and something else (`2,`,
          `value, `), repeated MIN_COPIES times back to back or more. The digits of
          `1000000000` or `0xFFFFFFFF` hold no such chunk; words right after `\\` or `%`
          (`\\x00\\x00…`, `%s, %s, …`) are escapes and format specs, not words.
          A chunk inside one word (`tetete…`) counts from MIN_WORD_COPIES copies, when it
          holds a letter no hexadecimal number does and two different characters (not
          `vvvvvvvv`, a ruler in a comment).
          Constants: a chunk of literals alone, comma-separated (numbers, None, True,
          False, `_`: `0, `, `None, `), is data where only literals share its bracket, or
          its statement when it is in none (`[0, 0, 0, 0, 0, 0, 0, 0]`, a zero table of
          any length, `return None, None, None, None`); it is a loop where a name shares
          them (`(i,2,2,2,2,2,2,2,2,2)`), and so is any other literal chunk (`'0'   '0'…`).
  params  a `def` or `lambda` parameter list naming one parameter twice.
"""

from __future__ import annotations

import re

MAX_BLOCK_LINES = 4
MAX_CHUNK = 32
MIN_COPIES = 4
MIN_WORD_COPIES = 8
MIN_LINE_RUN = 8

LINES, LOOP, PARAMS = "lines", "loop", "params"

_RUN = re.compile(r"(.{2,%d}?)\1{%d,}" % (MAX_CHUNK, MIN_COPIES - 1), re.S)
_WORD = re.compile(r"\w+")
_LITERAL = re.compile(r"\d\w*|None|True|False|_")
_TABLE_CHUNK = re.compile(r"(?:[\w.]+\s*,\s*[-+]?)+")  # `0, `, `0.5, -`, `0, 0,\n    `: literals, commas
_NOT_HEX = re.compile(r"[g-zG-Z]")
_OPENERS, _CLOSERS = "([{", ")]}"
_STATEMENT_WORDS = {"return", "yield"}  # `return None, None, None, None` is data
_SIGNATURE = re.compile(r"\bdef\s+\w+\s*\(|\blambda\b")
_PARAM_NAME = re.compile(r"\s*\*{0,2}\s*([A-Za-z_]\w*)")


def degenerate(text: str, line_prefix: str = "") -> str:
    """The kind of repetition `text` holds (LINES, LOOP or PARAMS), or "" for none.
    `line_prefix`: the cursor's line left of the cursor, the start of the first line."""
    if not text.strip():
        return ""
    joined = line_prefix + text
    if _repeated_lines(joined):
        return LINES
    if _loop(joined, len(line_prefix)):
        return LOOP
    if _repeated_param(joined):
        return PARAMS
    return ""


def _literal_only(words: list[str]) -> bool:
    return all(_LITERAL.fullmatch(word) for word in words)


def _non_trivial(line: str) -> bool:
    words = _WORD.findall(line)
    return len(words) >= 2 and not _literal_only(words)


def _table_row(line: str) -> bool:
    words = _WORD.findall(line)
    return bool(words) and _literal_only(words)


def _repeated_lines(text: str) -> bool:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    run = 1
    for i in range(1, len(lines)):
        run = run + 1 if lines[i] == lines[i - 1] else 1
        if run >= MIN_LINE_RUN and not _table_row(lines[i]):
            return True
    for i in range(len(lines) - 1):
        if lines[i] == lines[i + 1] and _non_trivial(lines[i]):
            return True
        for size in range(2, MAX_BLOCK_LINES + 1):
            block = lines[i:i + size]
            if i + 2 * size <= len(lines) and block == lines[i + size:i + 2 * size] \
                    and any(_WORD.search(line) and not _table_row(line) for line in block):
                return True
    return False


def _word_starts(text: str, start: int, end: int) -> list[int]:
    """Where words start in text[start:end], leaving out escapes and format specs."""
    return [m.start() for m in _WORD.finditer(text, start, end)
            if m.start() == 0 or text[m.start() - 1] not in "\\%" and not text[m.start() - 1].isalnum()
            and text[m.start() - 1] != "_"]


def _loop(text: str, base: int) -> bool:
    """A chunk repeated MIN_COPIES times, a copy of it at least in the suggestion (after `base`)."""
    position = 0
    while (match := _RUN.search(text, position)) is not None:
        start, period = match.start(), len(match.group(1))
        end = match.end()
        while end < len(text) and text[end] == text[end - period]:
            end += 1
        if end - max(start, base) >= period and _is_loop(text, start, end, period):
            return True
        position = start + 1
    return False


def _is_loop(text: str, start: int, end: int, period: int) -> bool:
    chunk = text[start:start + period]
    if not re.search(r"\W", chunk):  # the inside of one word or number
        return ((end - start) // period >= MIN_WORD_COPIES and _NOT_HEX.search(chunk) is not None
                and len(set(chunk)) > 1)  # `vvvvvvvv`, `PPPPPPPP`: rulers and test data
    starts = _word_starts(text, start, start + period)
    if not starts:
        return False  # `====`, `    `, `\x00\x00`, `%s, %s`
    # The chunk as its own first word begins it, so its words are whole.
    aligned = starts[0]
    words = _WORD.findall(text[aligned:aligned + period])
    if not _literal_only(words) or not _TABLE_CHUNK.fullmatch(text[aligned:aligned + period]):
        return True
    return not _literal_only(_context_words(text, aligned, end))


def _context_words(text: str, start: int, end: int) -> list[str]:
    """The words sharing text[start:end]'s bracket (or, in none, its statement on this line)."""
    left, depth = start, 0
    while left > 0:
        char = text[left - 1]
        if char == "\n" or char == "=" or (char in _OPENERS and depth == 0):
            break
        depth += char in _CLOSERS
        depth -= char in _OPENERS
        left -= 1
    right, depth = end, 0
    while right < len(text):
        char = text[right]
        if char in "\n#" or (char in _CLOSERS and depth == 0):
            break
        depth += char in _OPENERS
        depth -= char in _CLOSERS
        right += 1
    words = _WORD.findall(text[left:start]) + _WORD.findall(text[end:right])
    return [word for word in words if word not in _STATEMENT_WORDS]


def _repeated_param(text: str) -> bool:
    for match in _SIGNATURE.finditer(text):
        names = _param_names(text, match.end(), ":" if match.group().startswith("lambda") else ")")
        if len(names) != len(set(names)):
            return True
    return False


def _param_names(text: str, position: int, closer: str) -> list[str]:
    """The parameter names of the list starting at `position`, up to `closer` or the end."""
    names, depth, quote, piece = [], 0, "", position
    for index in range(position, len(text) + 1):
        char = text[index] if index < len(text) else ""
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in _OPENERS:
            depth += 1
        elif char in _CLOSERS and depth:
            depth -= 1
        elif depth == 0 and char in (",", closer, ""):
            name = _PARAM_NAME.match(text, piece)
            if name and name.end() <= index:
                names.append(name.group(1))
            if char != ",":
                break
            piece = index + 1
    return names
