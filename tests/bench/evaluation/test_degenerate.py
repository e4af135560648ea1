"""The evaluation's own judge of degenerate repetition: the junk models write counts, the
ordinary code that looks repetitive does not."""

import pytest

from bench.evaluation.degenerate import LINES, LOOP, PARAMS, degenerate

REPEATED_BLOCK = '''            if not self.handle:
                raise ValueError("cannot use %s" % (name, self.handle))
            if not self.handle:
                raise ValueError("cannot use %s" % (name, self.handle))
'''


@pytest.mark.parametrize("text, kind", [
    ("def __init__(self, name, value, value, value, value,", LOOP),
    ("(i,2,2,2,2,2,2,2,2,2)", LOOP),
    (REPEATED_BLOCK, LINES),
    (REPEATED_BLOCK.lstrip(), LINES),  # the first line as the cursor leaves it, after its indentation
    ("total = total + 1\ntotal = total + 1", LINES),
    ("a = f(x)\nb = g(a)\nc = h(b)\na = f(x)\nb = g(a)\nc = h(b)", LINES),   # a block of 3 lines
    ("x = 1\n\n    y = 2\nx = 1\n    y = 2", LINES),                         # blank lines and indentation aside
    ("self.assertEqual(a, b)self.assertEqual(a, b)self.assertEqual(a, b)self.assertEqual(a, b)", LOOP),
    ("f(x, None, None, None, None, None)", LOOP),                          # constants beside a name
    ("def f(self, value, value):", PARAMS),
    ("def f(a, b=(1, 2), *args, a=3):", PARAMS),
    ("lambda x, x: x", PARAMS),
    # Seen in the embedded pair's raw output:
    ("te" * 100, LOOP),                                                     # inside one word
    ("def _get" + "_x" * 60, LOOP),
    ("#\n" * 64, LINES),                                                   # a trivial line, down the screen
    ("def f(n):\n    " + "'0'        " * 16, LOOP),                         # literals, not a table
    ("def _check_unit(operator, scale_to_unit, scale_to_unit, scale_to_deit, scale_to_deit, scale_to_deit, "
     "scale_to_deit, scale_to_deit", LOOP),
])
def test_junk_repeats(text, kind):
    assert degenerate(text) == kind


@pytest.mark.parametrize("text", [
    "",
    "   \n",
    "[0, 0, 0, 0]",
    "None, None",
    "return None, None",
    "x = compute(a)\ny = compute(b)",
    "if a:\n    pass\nelse:\n    pass",
    "try:\n    pass\nexcept KeyError:\n    pass",
    "def a(self):\n    pass\n\ndef b(self):\n    pass",
    "[0, 0, 0, 0, 0, 0, 0, 0]",
    "table = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",            # a zero table, however long
    "    0, 0, 0, 0, 0, 0, 0, 0,\n    0, 0, 0, 0, 0, 0, 0, 0,\n",           # its rows, one under another
    "row = [1, 0, 0, 0, 0, 0]",                                             # literals only in the bracket
    "return None, None, None, None, None",
    "x = 1000000000 + 0xFFFFFFFF",                                         # digits are no chunk
    'data = b"\\x00\\x00\\x00\\x00\\x00\\x00"',                             # escapes
    'line = "%s, %s, %s, %s, %s" % values',                                 # format specs
    'print("=" * 40)',
    "----------------------------------------",
    "def f(a, b, *, c, **kwargs):",
    "lambda a, b=1: a + b",
    "x = 0xFFFFFFFFFFFFFFFF + 0xdeadbeefdeadbeef",                          # hex digits are no loop
    "    )\n)\n)",                                                         # closing brackets, a few
    "    0, 0, 0, 0,\n" * 12,                                              # a long zero table, row by row
    "x = [-1, -1, -1, -1, -1, -1]",
    "# vvvvvvvvvvvvvvvvvvvvv root",                                          # one letter, a ruler
    "n = 1_000_000_000_000_000_000_000",
    "def f(a=(x, x), b=x):",                                                # defaults may repeat names
])
def test_ordinary_code_does_not(text):
    assert degenerate(text) == ""


def test_the_cursor_line_joins_the_first_line():
    # The model repeats the line it was asked to finish.
    assert degenerate("g(x, y)\n        result = y + g(x, y)", "        result = y + ") == LINES
    assert degenerate("g(x, y)", "        result = y + ") == ""
    # A loop only in the text before the cursor is not the suggestion's.
    assert degenerate(")", "t = (i,2,2,2,2,2,2") == ""
    assert degenerate("2,2,2,2,2)", "t = (i,") == LOOP
