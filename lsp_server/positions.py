"""The one place where LSP positions become string offsets.

LSP positions are (line, character) with `character` counted in the negotiated
`positionEncoding`: UTF-16 code units by default, or UTF-8 bytes / UTF-32 code points.
Python strings index code points, which is what every lower layer takes. Lines end at
\\n, \\r\\n or a lone \\r. A character past the end of its line means the line's end (as
the specification says); a line past the end of the document is an error.
"""

from __future__ import annotations

import re

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class PositionError(ValueError):
    pass


def _units(char: str, encoding: str) -> int:
    if encoding == UTF16:
        return 2 if ord(char) > 0xFFFF else 1
    if encoding == UTF8:
        return len(char.encode("utf-8"))
    return 1


def line_starts(text: str) -> list[int]:
    return [0, *(match.end() for match in _LINE_BREAK.finditer(text))]


def offset_at(text: str, line: int, character: int, encoding: str = UTF16) -> int:
    """Code-point offset of an LSP position in `text`."""
    if line < 0 or character < 0:
        raise PositionError(f"position {line}:{character} is negative")
    starts = line_starts(text)
    if line >= len(starts):
        raise PositionError(f"line {line} is past the end of the document ({len(starts)} lines)")
    start = starts[line]
    end = _LINE_BREAK.search(text, start)
    line_text = text[start:end.start() if end else len(text)]
    units = 0
    for index, char in enumerate(line_text):
        if units >= character:
            return start + index
        units += _units(char, encoding)
    return start + len(line_text)


def position_of(text: str, offset: int, encoding: str = UTF16) -> tuple[int, int]:
    """LSP (line, character) of a code-point offset (for ranges we send back)."""
    starts = line_starts(text)
    line = max(i for i, s in enumerate(starts) if s <= offset)
    return line, sum(_units(c, encoding) for c in text[starts[line]:offset])
