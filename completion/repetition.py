"""Degenerate repetition, found while the completion is generated: where to cut it.

Three loops a model falls into, each judged on the text generated so far (joined to the
last few lines before the cursor, so a completion that repeats the line above counts):

  lines    a block of 1 to MAX_BLOCK_LINES complete lines followed at once by the same
           lines again (compared without trailing spaces, indentation included). A block
           of one line must be non-trivial: not blank, not punctuation only (`)`, `]`,
           triple quotes), not one word (`pass`, `else:`, `break`, `print()`), not a row
           of literals (`0, 0, 0,`: tables repeat rows); a longer block needs one
           non-trivial line, and also loops when its copy is nested one level deeper.
           Three more shapes of the same loop: an `if`/`elif`/`while` header nested in
           its own copy (the same condition tested twice), the one-line body of an
           `else:` written again after it at the `else:`'s depth, and any line but a row
           of literals MIN_LINE_RUN times in a row (`#` down the screen). The second copy
           must start on the cursor's line (when left of the cursor is only indentation)
           or below it.
  units    a short piece of text (1 to MAX_PERIOD characters, holding a word and
           something else: `2,`, `value, `) repeated back to back MIN_COPIES times, or
           MIN_CONSTANT_COPIES times when its words are only literals (`0, ` `None, ` `_, `:
           zero tables and `None, None, None` returns are ordinary code). A unit of
           LONG_PERIOD characters or more loops from MIN_LONG_COPIES copies (`of the number `
           in a comment); its copies are counted over the whole periodic stretch, whichever
           character it starts on.
  params   a name given twice in one `def` or `lambda` parameter list (`value, value`).

Each returns the index where the text must end: where the second copy starts (a unit
loop cut is moved to the start of a word). Call sites then trim and let the validity
rule (completion/validity.py) cut the rest to valid Python.

Bounds: this runs after every generated token, so it reads only the last WINDOW
characters of the text (and TAIL_CHARS of the prefix): a loop is found as soon as it
forms, at the end of the text, so the window always holds it.
"""

from __future__ import annotations

import re

WINDOW = 512        # characters of the generated text read per call
TAIL_CHARS = 400    # characters of the prefix joined before it
TAIL_LINES = 4      # whole lines of the prefix joined before the cursor's line
MAX_BLOCK_LINES = 4
MAX_PERIOD = 32
MIN_COPIES = 4
MIN_CONSTANT_COPIES = 10
LONG_PERIOD = 8
MIN_LONG_COPIES = 3
MIN_LINE_RUN = 6

# The same condition tested again inside its own block can never change anything.
_CONDITION_HEADER = re.compile(r"(if|elif|while)\b.*:")

_ONE_WORD = re.compile(r"[@\w.]*(\(\))?[:,;]?")
_PUNCTUATION = re.compile(r"[\W_]*")
_CONSTANT = re.compile(r"\d\w*|None|True|False|_")
_WORD = re.compile(r"\w+")
_PARAMS = re.compile(r"\b(?:def\s+\w+\s*\(|lambda\b)")
_PARAM_NAME = re.compile(r"\s*\*{0,2}\s*([A-Za-z_]\w*)")


def prefix_tail(prefix: str) -> tuple[str, bool]:
    """The last lines before the cursor (whole lines, the cursor's line last) and whether
    left of the cursor is only indentation (the cursor's line then is all the model's)."""
    tail = prefix[-TAIL_CHARS:]
    if len(prefix) > len(tail):
        newline = tail.find("\n")
        tail = tail[newline + 1:] if newline >= 0 else ""
        if newline < 0:
            return "", False  # a huge cursor line: its start is out of reach
    lines = tail.split("\n")
    tail = "\n".join(lines[-TAIL_LINES - 1:])
    line_prefix = lines[-1]
    return tail, not line_prefix.strip()


def trivial(line: str) -> bool:
    """Blank, punctuation, one word, or a row of literals (`0, 0, 0, 0,`: tables repeat rows)."""
    stripped = line.strip()
    return (_PUNCTUATION.fullmatch(stripped) is not None or _ONE_WORD.fullmatch(stripped) is not None
            or _literal_row(stripped))


def _literal_row(line: str) -> bool:
    words = _WORD.findall(line)
    return bool(words) and _literals(words)


def _literals(words: list[str]) -> bool:
    return all(_CONSTANT.fullmatch(word) for word in words)


def repetition_cut(text: str, tail: str = "", line_blank: bool = True) -> int | None:
    """Where `text` (generated after `tail`, see prefix_tail) must end because it loops."""
    offset = max(0, len(text) - WINDOW)
    if offset:
        # The window starts at a line start when one is near, so its first line is whole.
        newline = text.find("\n", offset, offset + 200)
        whole_first = newline >= 0
        offset = newline + 1 if whole_first else offset
        joined, base, line_blank = text[offset:], 0, True
    else:
        joined, base, whole_first = tail + text, len(tail), True
    cuts = [cut for cut in (_line_cut(joined, base, line_blank, whole_first), _unit_cut(joined, base),
                            _param_cut(joined, base)) if cut is not None]
    if not cuts:
        return None
    return offset + max(0, min(cuts) - base)


def _line_cut(text: str, base: int, line_blank: bool, whole_first: bool) -> int | None:
    """The start of a block's second copy, in `text`."""
    lines = text.split("\n")[:-1]  # complete lines only: the last one may still grow
    starts, position = [], 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    if not whole_first and lines:
        lines, starts = lines[1:], starts[1:]
    lines = [line.rstrip() for line in lines]
    stripped = [line.strip() for line in lines]
    # The cursor's line start, when the model wrote all of it; else the next line's.
    cursor_line = text.rfind("\n", 0, base) + 1
    earliest = cursor_line if line_blank else text.find("\n", base) + 1 or len(text) + 1
    for i in range(1, len(lines)):
        if starts[i] < earliest:
            continue
        for size in range(1, MAX_BLOCK_LINES + 1):
            if i - size < 0 or i + size > len(lines):
                break
            block = lines[i - size:i]
            # A block of two or more lines also loops nested in its own copy (a `for`/`if`/
            # `break` block again, deeper); shallower it is ordinary code (`else: return None`
            # closing two nested blocks).
            same = block == lines[i:i + size] or (size > 1 and stripped[i - size:i] == stripped[i:i + size]
                                                  and _indent(lines[i]) > _indent(lines[i - size]))
            if same and not all(trivial(line) for line in block):
                return starts[i]
        if stripped[i] == stripped[i - 1] and _shape_loop(lines, stripped, i):
            return starts[i]
        run = _line_run(lines, i)
        if run is not None:
            # Keep the run's first line; the rest is the loop (the user's lines stay).
            return next((starts[j] for j in range(run + 1, i + 1) if starts[j] >= earliest), None)
    return None


def _shape_loop(lines: list[str], stripped: list[str], i: int) -> bool:
    """Line i repeats line i-1 in a shape real code never has: a condition header nested
    in itself, or an `else:` body written again after the `else:` block."""
    if not stripped[i]:
        return False
    if _CONDITION_HEADER.fullmatch(stripped[i]) and _indent(lines[i]) > _indent(lines[i - 1]):
        return True
    return (i >= 2 and stripped[i - 2] == "else:" and not trivial(lines[i])
            and _indent(lines[i]) == _indent(lines[i - 2]) < _indent(lines[i - 1]))


def _line_run(lines: list[str], i: int) -> int | None:
    """The first index of MIN_LINE_RUN equal lines ending at line i (not blank, not a row
    of literals such as `None,` or `0, 0,`: tables repeat rows)."""
    first = i - MIN_LINE_RUN + 1
    if first < 0 or not lines[i].strip() or _literal_row(lines[i]):
        return None
    return first if all(line == lines[i] for line in lines[first:i]) else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _unit_cut(text: str, base: int = 0) -> int | None:
    """The start of a short unit's second copy when the text ends looping on it (the
    text after `base`, the model's, holding two copies at least)."""
    end, best = len(text), None
    for period in range(1, MAX_PERIOD + 1):
        if end < 2 * period:
            break
        unit = text[-period:]
        if not _WORD.search(unit) or _WORD.fullmatch(unit):
            continue  # `====`, `    ` and the inside of one word are not loops
        copies = 1
        while end - (copies + 1) * period >= 0 and text[end - (copies + 1) * period:end - copies * period] == unit:
            copies += 1
        if copies < 2:
            continue
        start = end - copies * period
        while start > 0 and end - start < (copies + 1) * period - 1 and text[start - 1] == text[start - 1 + period]:
            start -= 1
        # Count copies from a word's start (the loop's own first token).
        aligned = next((a for a in range(start, start + period)
                        if text[a].isalnum() or text[a] == "_"
                        if a == 0 or not (text[a - 1].isalnum() or text[a - 1] == "_")), None)
        if aligned is None:
            aligned = next((a for a in range(start, start + period) if not text[a].isspace()), start)
        whole = (end - aligned) // period
        words = _WORD.findall(text[aligned:aligned + period])
        needed = MIN_CONSTANT_COPIES if _literals(words) else MIN_COPIES
        if period >= LONG_PERIOD and needed == MIN_COPIES:
            # A long unit counts from fewer copies, over the whole periodic stretch: prose
            # loops end mid-copy and rarely start at the unit's first word.
            whole, needed = (end - start) // period, MIN_LONG_COPIES
        if whole >= needed and (end - max(aligned, base)) // period >= 2:
            cut = aligned + period
            best = cut if best is None else min(best, cut)
    return best


def _param_cut(text: str, base: int = 0) -> int | None:
    """The start of a parameter (after `base`, the model's) whose name an earlier one in the
    same list already has."""
    for match in _PARAMS.finditer(text):
        closer = ":" if match.group().startswith("lambda") else ")"
        seen, depth, quote, piece_start = set(), 0, "", match.end()
        position = match.end()
        while position <= len(text):
            char = text[position] if position < len(text) else ""
            if quote:
                if char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char in "([{":
                depth += 1
            elif char in ")]}" and depth:
                depth -= 1
            elif depth == 0 and char in (",", closer, ""):
                piece = text[piece_start:position]
                name = _PARAM_NAME.match(piece)
                # The last piece counts once its name is followed by something.
                if name and (char or name.end() < len(piece)):
                    if name.group(1) in seen and piece_start >= base:
                        return piece_start
                    seen.add(name.group(1))
                if char != ",":
                    break
                piece_start = position + 1
            position += 1
    return None
