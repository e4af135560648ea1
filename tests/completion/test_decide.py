"""completion/decide.py: complete here or not, and how much (the rest of the line or a block).

Inputs are built the way the service builds them: cursor_context for the text around the
cursor, syntax_at for tree-sitter's view of it. `|` marks the cursor."""

import pytest

from completion.cursor import cursor_context
from completion.decide import MULTI_LINE, NONE, SINGLE_LINE, Decision, decide
from completion.syntax import syntax_at


def decision(marked: str, setting: str = "auto") -> Decision:
    offset = marked.index("|")
    text = marked[:offset] + marked[offset + 1:]
    context = cursor_context(text, offset)
    return decide(context, syntax_at(text, context.prefix), setting)


def mode(marked: str, setting: str = "auto") -> str:
    return decision(marked, setting).mode


# --- nothing to complete -------------------------------------------------------------

@pytest.mark.parametrize("marked", [
    "pri|nt(x)\n",
    "x = foo|bar\n",
    "x = my_|var + 1\n",
    "def f():\n    return val|ue\n",
    "x = caf|é\n",           # a non-ASCII word character continues the identifier too
    "x = 1|0\n",
])
def test_mid_identifier_is_skipped(marked):
    d = decision(marked)
    assert d.mode == NONE and not d.complete


@pytest.mark.parametrize("marked", [
    "print|()\n",           # before an auto-closed bracket
    "x = foo(a|)\n",
    "x = [1, 2|]\n",
    "x = y |+ 1\n",
])
def test_a_closer_or_operator_right_of_the_cursor_is_not_mid_identifier(marked):
    assert mode(marked) == SINGLE_LINE


@pytest.mark.parametrize("marked", [
    's = "abc| def"\n',
    'x = "|"\n',                        # right after an auto-closed opening quote
    "x = 'hello, |'\n",
    's = """some\nprose |\n"""\n',      # a triple-quoted string that is not a docstring
    'x = f"a {b} c |"\n',               # an f-string's literal part is text
    'x = "abc |\n',                     # unterminated: still inside the string
    "print('Hello, |\n",
])
def test_inside_a_string_is_skipped(marked):
    assert mode(marked) == NONE


@pytest.mark.parametrize("marked", [
    'x = f"{na|}"\n',
    'x = f"{|}"\n',
    'print(f"total: {len(items)} items, {user.|}")\n',
    "msg = f'{a + |}'\n",
])
def test_fstring_interpolation_is_code(marked):
    d = decision(marked)
    assert d.complete and d.mode == SINGLE_LINE


# --- comments --------------------------------------------------------------------------

@pytest.mark.parametrize("marked", [
    "# compute the|\n",
    "# compute the total |\n",
    "def f():\n    # sort the items by|\n    pass\n",
    "x = 1  # add two|\n",                 # a trailing comment
    "# 计算总和并返回结果|\n",              # a script written without spaces
])
def test_comment_continued_at_the_end_of_its_line(marked):
    assert mode(marked) == SINGLE_LINE


@pytest.mark.parametrize("marked", [
    "# x|\n",                               # one word says too little
    "#|\n",
    "# |\n",
    "    # compute the| rest\n",            # words right of the cursor
    "# compute| the total\n",
    's = "a#b"  # x|\n',                    # the string's "#" does not start the comment
    "x = 1  #|\n",
])
def test_comment_is_skipped_unless_a_continuation_with_two_words(marked):
    assert mode(marked) == NONE


# --- docstrings ---------------------------------------------------------------------------

@pytest.mark.parametrize("marked", [
    'def f():\n    """Return the| sum."""\n',
    'def f():\n    """Return the sum.\n\n    Args|\n    """\n',
    'def f():\n    """Summary.\n\n    |\n    """\n',     # a blank line inside: still prose
    'class A:\n    """A point in |"""\n',
    '"""Module doc|"""\n',
    'async def g():\n    """Fetch the |"""\n',
])
def test_docstring_is_continued_one_line_at_a_time(marked):
    assert mode(marked) == SINGLE_LINE


# --- code ---------------------------------------------------------------------------------

@pytest.mark.parametrize("marked", [
    "def f(x):\n    return x + |\n",
    "x = |\n",
    "x = foo(|)\n",
    "    result = compute(a, |\n",
    "import |\n",
    "for i in |\n",
    'x = "abc"|\n',                        # right after a closed string: code
])
def test_mid_statement_finishes_the_line(marked):
    assert mode(marked) == SINGLE_LINE


@pytest.mark.parametrize("marked", [
    "def f(x):\n    |\n",
    "def f(x):\n    |",
    "class A:\n    |\n",
    "if x:\n    |\n",
    "for i in range(3):\n    |\n",
    "while True:\n    |\n",
    "with open(p) as fh:\n    |\n",
    "try:\n    |\n",
    "try:\n    x()\nexcept ValueError:\n    |\n",
    "if a:\n    b()\nelse:\n    |\n",
    "async def g():\n    |\n",
    "@cache\ndef f():\n    |\n",
    "def f():  # todo: (\n    |\n",         # a trailing comment after the colon
    "def f(\n    a,\n    b,\n):\n    |\n",    # a header over several lines
    "class A:\n    def m(self):\n        |\n\n    def n(self):\n        pass\n",
    "def f():\n    |\nx = 1\n",               # the next line is back at the header's level
])
def test_empty_body_after_a_header_gets_a_block(marked):
    assert mode(marked) == MULTI_LINE


def test_end_of_a_header_line_gets_a_block():
    assert mode("def f(x):|\n") == MULTI_LINE
    assert mode("    if ready:|\n") == MULTI_LINE


@pytest.mark.parametrize("marked", [
    "foo(\n    a,\n    |\n)\n",
    "x = [\n    1,\n    |\n",
    "x = [\n    1,\n    \"(\",\n    |\n",       # a string's "(" is not what is open
    "d = {\n    'a': 1,  # note )\n    |\n",     # nor does a comment's ")" close it
    "def f():\n    return g(\n        a,\n        |\n",
])
def test_blank_line_inside_open_brackets_finishes_a_line(marked):
    assert mode(marked) == SINGLE_LINE


@pytest.mark.parametrize("marked", [
    "x = 1\n|\ny = 2\n",
    "x = 1\n\n|",
    "x = foo(\n    a,\n)\n|\n",                 # the bracket was closed
    'x = "("\n|\n',                             # a string's bracket opens nothing
    "x = 1  # see (a\n|\n",                     # nor does a comment's
    "x = 'it\\'s ('\n|\n",
    "def f():\n    x = 1\n    |\n    return x\n",
    "|",                                        # an empty file
])
def test_blank_line_between_statements_gets_a_block(marked):
    assert mode(marked) == MULTI_LINE


def test_a_colon_inside_open_brackets_is_not_a_block_header_on_the_next_line():
    assert mode('d = {\n    "key":\n    |\n') == SINGLE_LINE


@pytest.mark.parametrize("marked", [
    'd = {"key":|\n',
    "x = items[1:|\n",
    "f = g(lambda x:|\n",
])
def test_a_colon_inside_open_brackets_is_not_the_end_of_a_header(marked):
    assert mode(marked) == SINGLE_LINE


# --- the multiline setting ------------------------------------------------------------------

@pytest.mark.parametrize("marked", [
    "x = |\n",
    "foo(\n    a,\n    |\n)\n",
    "def f():\n    return |\n",
])
def test_always_gives_a_block_where_auto_would_finish_a_line(marked):
    assert mode(marked) == SINGLE_LINE
    assert mode(marked, "always") == MULTI_LINE


@pytest.mark.parametrize("marked", [
    "def f():\n    |\n",
    "x = 1\n|\n",
])
def test_never_gives_one_line_where_auto_would_give_a_block(marked):
    assert mode(marked) == MULTI_LINE
    assert mode(marked, "never") == SINGLE_LINE


@pytest.mark.parametrize("setting", ["always", "never"])
@pytest.mark.parametrize("marked", [
    "pri|nt(x)\n",
    's = "abc| def"\n',
    'x = "abc |\n',
    "# x|\n",
    "# compute| the total\n",
])
def test_the_setting_never_overrides_a_skip(marked, setting):
    assert mode(marked, setting) == NONE


@pytest.mark.parametrize("setting", ["always", "never"])
def test_a_comment_continuation_is_still_offered_with_either_setting(setting):
    assert decision("# compute the|\n", setting).complete
