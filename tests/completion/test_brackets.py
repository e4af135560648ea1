"""completion/brackets.py: a rough bracket scan that must not be fooled by strings and comments."""

import pytest

from completion.brackets import first_unmatched_closer, statement_tail, unclosed_brackets


@pytest.mark.parametrize("text, expected", [
    ("foo(a, [1, 2", "(["),
    ("foo(a)[0]", ""),
    ("d = {'a': (1, 2)", "{"),
    ("x = [\n    (1, 2),\n    {3: 4},\n", "["),
])
def test_unclosed_brackets_in_plain_code_innermost_last(text, expected):
    assert unclosed_brackets(text) == expected


@pytest.mark.parametrize("text, expected", [
    ('foo("(", [', "(["),               # an opener inside a string opens nothing
    ("foo(')', ", "("),                 # a closer inside a string closes nothing
    ("foo('[', x", "("),
    ('s = "# not a comment" + (', "("),  # `#` inside a string does not start a comment
    ("f'{x}' + (", "("),
    ("b'(' + r')' + (", "("),           # string prefixes
])
def test_brackets_inside_strings_are_ignored(text, expected):
    assert unclosed_brackets(text) == expected


@pytest.mark.parametrize("text, expected", [
    ('f("a\\"(", ', "("),     # \" does not end the string, so its "(" is text
    ("f('it\\'s (', [", "(["),
    ("f('\\\\', (", "(("),    # an escaped backslash: the quote after it does end the string
    ('x = "\\\n(" + [', "["),  # backslash-newline continues a one-line string
])
def test_escaped_quotes(text, expected):
    assert unclosed_brackets(text) == expected


@pytest.mark.parametrize("text, expected", [
    ('f("""(""", {', "({"),
    ("f('''\n(\n''', [", "(["),               # across lines
    ('f("""\n" ( " ) ]\n""", [', "(["),       # single quotes inside a triple-quoted string
    ("x = '''\n# not a comment (\n''' + (", "("),
])
def test_triple_quoted_strings(text, expected):
    assert unclosed_brackets(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("f(  # (\n", "("),
    ("f(x)  # )\n[", "["),
    ("x = 1  # ( [ {\n", ""),
    ("items = [  # a list's ']' closes nothing here\n    1,\n", "["),
    ("# ' an apostrophe in a comment opens no string\nf(", "("),
])
def test_comments_are_skipped(text, expected):
    assert unclosed_brackets(text) == expected


@pytest.mark.parametrize("text, expected", [
    ('f("abc(\n', "("),        # the string's "(" is text; its line ends it
    ("f('abc[\nx", "("),
    ("x = 'abc\n(", "("),      # after the broken line, code again
    ("x = \"it's\nf(", "("),   # an apostrophe in an unterminated string
])
def test_unterminated_one_line_string_ends_with_its_line(text, expected):
    assert unclosed_brackets(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("(]", "("),     # a closer of the wrong kind closes nothing
    ("[(]", "[("),
    ("x)]", ""),     # stray closers with nothing open are ignored
])
def test_mismatched_closers_leave_the_openers_open(text, expected):
    assert unclosed_brackets(text) == expected


@pytest.mark.parametrize("text, open_before, expected", [
    ("a, b)", "(", None),          # closes the prefix's bracket
    ("a, b))", "(", 5),            # the second one closes nothing
    ("x)", "", 1),
    ("x]", "(", 1),                # wrong kind
    (")}", "({", 0),               # innermost is "{": ")" is the wrong kind
    ("})", "({", None),
    ("[1])", "(", None),           # its own bracket first, then the prefix's
    ("f(x) + y", "", None),
    ("a) + (b", "(", None),
])
def test_first_unmatched_closer(text, open_before, expected):
    assert first_unmatched_closer(text, open_before) == expected


@pytest.mark.parametrize("text, open_before, expected", [
    ('")" + y)', "(", None),       # the string's ")" closes nothing
    ('")" + y))', "(", 8),
    ("x  # )\n)", "(", None),      # the comment's ")" closes nothing
    ("x  # )\n))", "(", 8),
    ("'''\n)\n''')", "(", None),
])
def test_first_unmatched_closer_skips_strings_and_comments(text, open_before, expected):
    assert first_unmatched_closer(text, open_before) == expected


def test_statement_tail_starts_at_the_last_unindented_line():
    prefix = "import os\nx = foo(\n    a,\n    "
    assert statement_tail(prefix) == "x = foo(\n    a,\n    "


def test_statement_tail_of_an_indented_block_starts_at_its_top_level_statement():
    prefix = "x = 1\ndef f():\n    y = (\n        1,\n        "
    assert statement_tail(prefix) == "def f():\n    y = (\n        1,\n        "
    assert unclosed_brackets(statement_tail(prefix)) == "("


def test_statement_tail_ignores_a_broken_earlier_statement():
    prefix = "broken = foo(\n\ndef g():\n    return [\n        1,\n        "
    assert unclosed_brackets(statement_tail(prefix)) == "["


def test_statement_tail_with_no_unindented_line_is_the_whole_prefix():
    prefix = "    x = (\n        1,\n"
    assert statement_tail(prefix) == prefix


def test_statement_tail_stays_within_max_chars():
    prefix = "a = (\n" + "    1,\n" * 1000
    tail = statement_tail(prefix, max_chars=100)
    assert len(tail) <= 100 and prefix.endswith(tail)


def test_statement_tail_skips_a_column_zero_comment_inside_brackets():
    prefix = "x = foo(\n    a,\n#    b,\n    "
    assert unclosed_brackets(statement_tail(prefix)) == "("


def test_statement_tail_does_not_start_inside_a_triple_quoted_string():
    prefix = 'run(\n    """\nselect *\n""",\n    '
    assert unclosed_brackets(statement_tail(prefix)) == "("
