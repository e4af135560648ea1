"""Type-through: while the user types the characters a shown suggestion starts with, the
rest of it is the answer — instantly, without the models.

Each entry remembers where a suggestion was made: the text just before the cursor, the
text after it, and the document's length. A request matches an entry when the document is
the entry's with the suggestion's first t characters typed at its cursor (t may be 0: the
same place again); the answer is the suggestion's remaining characters. Bounded by
entries and by characters held (least recently used go first).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

ANCHOR_CHARS = 256  # how much of the text around the cursor must match, each side


@dataclass(frozen=True)
class _Entry:
    uri: str
    before: str        # the last ANCHOR_CHARS before the cursor
    after: str         # the first ANCHOR_CHARS after it
    cursor: int        # code points before the cursor
    length: int        # the document's length, in code points
    suggestion: str
    replace_chars: int

    @property
    def size(self) -> int:
        return len(self.before) + len(self.after) + len(self.suggestion)


@dataclass(frozen=True)
class CachedSuggestion:
    text: str
    replace_chars: int
    typed: int  # characters of the original suggestion typed since it was made


class SuggestionCache:
    def __init__(self, max_entries: int = 256, max_chars: int = 1_000_000):
        self.max_entries, self.max_chars = max_entries, max_chars
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._chars = 0
        self.hits = self.misses = 0

    def remember(self, uri: str, text: str, offset: int, suggestion: str, replace_chars: int = 0) -> None:
        if not suggestion:
            return
        entry = _Entry(uri, text[max(0, offset - ANCHOR_CHARS):offset], text[offset:offset + ANCHOR_CHARS],
                       offset, len(text), suggestion, replace_chars)
        key = (uri, offset, entry.before, entry.after)
        if key in self._entries:
            self._chars -= self._entries.pop(key).size
        self._entries[key] = entry
        self._chars += entry.size
        while len(self._entries) > self.max_entries or self._chars > self.max_chars:
            self._chars -= self._entries.popitem(last=False)[1].size

    def lookup(self, uri: str, text: str, offset: int) -> CachedSuggestion | None:
        """The rest of a remembered suggestion that the document now types through."""
        for key in reversed(self._entries):  # newest first
            entry = self._entries[key]
            typed = offset - entry.cursor
            if entry.uri != uri or not 0 <= typed < len(entry.suggestion) \
                    or len(text) - entry.length != typed:
                continue
            if text[offset:offset + ANCHOR_CHARS] != entry.after \
                    or text[entry.cursor:offset] != entry.suggestion[:typed] \
                    or text[max(0, entry.cursor - ANCHOR_CHARS):entry.cursor] != entry.before:
                continue
            rest = entry.suggestion[typed:]
            if not rest.strip():
                continue
            self._entries.move_to_end(key)
            self.hits += 1
            return CachedSuggestion(rest, entry.replace_chars, typed)
        self.misses += 1
        return None

    def forget(self, uri: str) -> None:
        for key in [key for key in self._entries if key[0] == uri]:
            self._chars -= self._entries.pop(key).size

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def hit_ratio(self) -> float | None:
        total = self.hits + self.misses
        return self.hits / total if total else None
