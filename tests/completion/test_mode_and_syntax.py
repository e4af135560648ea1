import pytest

from completion.cursor import cursor_context
from completion.decide import MULTI_LINE, NONE, SINGLE_LINE, decide
from completion.syntax import syntax_at


def mode(text: str, marker: str = "|", setting: str = "auto") -> str:
    offset = text.index(marker)
    text = text.replace(marker, "")
    context = cursor_context(text, offset)
    return decide(context, syntax_at(text, context.prefix), setting).mode


@pytest.mark.parametrize("text, expected", [
    ("def f(x):\n    |\n", MULTI_LINE),          # empty body after a header
    ("def f(x):\n    return x + |\n", SINGLE_LINE),  # mid-expression
    ("x = [1, 2]\n|", MULTI_LINE),
    ('s = "abc|def"\n', NONE),                  # inside a string
    ('s = "abc| def"\n', NONE),
])
def test_auto_mode(text, expected):
    assert mode(text) == expected


def test_setting_overrides():
    assert mode("x = |\n", setting="always") == MULTI_LINE
    assert mode("def f():\n    |\n", setting="never") == SINGLE_LINE


def test_strings_and_comments_are_recognised():
    text = 'x = "abc"  # note\n'
    assert syntax_at(text, text[:6]).in_string
    assert syntax_at(text, text[:15]).in_comment
    assert not syntax_at(text, text[:3]).in_string


def test_syntax_errors_and_non_ascii_do_not_break_parsing():
    text = "def f(:\n    s = '😀 中文'\n    return s.\n"
    cursor = text.index("s.") + 2
    info = syntax_at(text, text[:cursor])
    assert info.has_error and not info.in_string
    assert cursor_context(text, cursor).line_prefix == "    return s."
