"""The bound on the work one keystroke may cost.

A completion's stages run with the GIL held, so a scan that grows with a line's or a
file's length freezes the whole server, `tandem/status` included: a regex backtracking
over a line of 60,000 spaces took 9 s, a 900,000-character line 39 s per completion.
Every scan written in Python (a loop over lines or characters, a regex that may
backtrack) therefore reads a window of at most NEAR_CHARS characters on each side of the
cursor, and treats the window's edge as the text's edge. Work done in C over whole
strings (slicing, `find`, `count`, `strip`) is linear and fast, and stays as it is; the
tree-sitter parse of the document is incremental.
"""

from __future__ import annotations

# A hundred lines of ordinary code each side: more than any decision or stop rule reads,
# and small enough that a character-by-character scan of it costs about a millisecond.
NEAR_CHARS = 4000
