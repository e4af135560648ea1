"""completion/postprocess.py and completion/guard.py: from the model's text to what is shown."""

import pytest

from completion.cursor import cursor_context
from completion.documents import byte_offset, encode_source
from completion.guard import guard
from completion.postprocess import (
    Suggestion, fit_line_tail, indent_unit, normalise_indent, postprocess, trim_suffix_overlap,
)
from completion.syntax import count_errors, parse


def at_end(prefix: str, suffix: str = "\n"):
    """The cursor context at the end of `prefix`."""
    return cursor_context(prefix + suffix, len(prefix))


# --- trim_suffix_overlap --------------------------------------------------------------------

@pytest.mark.parametrize("text, suffix, expected", [
    ("x = 1\n    return x", "\n    return x\n", "x = 1"),
    ("x = 1\n    y = 2\n    return y", "\n    y = 2\n    return y\n", "x = 1"),
    ("x = 1\n    return x", "\n\n    return x\n", "x = 1"),              # blank lines in between
    ("x = 1\nreturn x", "\n        return x\n", "x = 1"),                 # indentation aside
    ("x = 1\n    return x", "rest of line\n    return x\n", "x = 1"),     # the cursor's line is not compared
])
def test_trim_drops_trailing_lines_the_suffix_starts_with(text, suffix, expected):
    assert trim_suffix_overlap(text, suffix) == expected


@pytest.mark.parametrize("text, suffix", [
    ("x = 1\n    return y", "\n    return x\n"),
    ("a\n    c", "\n    b\n    c\n"),        # matches the suffix's second line, not its first
    ("return x", "\nreturn x\n"),             # the completion's first line is never dropped
    ("x = 1\n    return x", ""),
])
def test_trim_keeps_what_the_suffix_does_not_start_with(text, suffix):
    assert trim_suffix_overlap(text, suffix) == text


# --- fit_line_tail -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, line_suffix, open_brackets, expected", [
    ("a, b)", ")", "(", "a, b"),                 # the auto-closed ")" is not inserted twice
    ("len(items))", ")", "(", "len(items)"),
    ("x])", "])", "([", "x"),
    ("a, b):", "):", "(", "a, b"),
    ("qty + shipping", " + shipping", "", "qty"),  # the line's code, written again
])
def test_fit_drops_a_tail_the_completion_ends_with(text, line_suffix, open_brackets, expected):
    assert fit_line_tail(text, line_suffix, open_brackets) == Suggestion(expected, 0)


@pytest.mark.parametrize("text, line_suffix, open_brackets", [
    ("x).strip()", ")", "("),
    ("x) + 1", ")", "("),
    ("a]).strip()", "])", "(["),
])
def test_fit_replaces_an_auto_closed_tail_the_completion_closes_further_in(text, line_suffix, open_brackets):
    assert fit_line_tail(text, line_suffix, open_brackets) == Suggestion(text, len(line_suffix))


@pytest.mark.parametrize("text, line_suffix, open_brackets", [
    ("len(items)", ")", "("),     # its own ")" closes `len(`: the tail still closes the prefix's "("
    ("x", ")", "("),
    ("foo", "", ""),
    ("x + y", " + z", ""),
    ("x).strip()", ") + 1", "("),  # the tail is code, not auto-closed brackets: never replaced
])
def test_fit_leaves_the_rest(text, line_suffix, open_brackets):
    assert fit_line_tail(text, line_suffix, open_brackets) == Suggestion(text, 0)


# --- indent_unit -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("def f():\n\treturn 1\n", "\t"),
    ("def f():\n  if x:\n    return 1\n", "  "),
    ("def f():\n    if x:\n        return 1\n", "    "),
    ("x = 1\ny = 2\n", "    "),                                   # no evidence: 4 spaces
    ("", "    "),
    ("x = foo(\n        a)\ndef f():\n  return 1\n", "  "),       # a continuation line is no step
    ("class A:\n  def f(self):\n    pass\n  def g(self):\n\tpass\n", "  "),  # the most common step
])
def test_indent_unit(text, expected):
    assert indent_unit(text) == expected


# --- normalise_indent --------------------------------------------------------------------------

def test_four_space_model_output_in_a_tab_file():
    context = at_end("def f():\n\tx = 1\n\t")
    text = "if x:\n        y = 1\n    return y"
    assert normalise_indent(text, context, "\t") == "if x:\n\t\ty = 1\n\treturn y"


def test_four_space_model_output_in_a_two_space_file():
    context = at_end("def f():\n  x = 1\n  ")
    text = "if x:\n      y = 1\n  return y"
    assert normalise_indent(text, context, "  ") == "if x:\n    y = 1\n  return y"


def test_nested_blocks_at_top_level_in_a_two_space_file():
    context = at_end("")
    text = "for i in r:\n    if i:\n        print(i)\n    else:\n        pass"
    assert normalise_indent(text, context, "  ") == "for i in r:\n  if i:\n    print(i)\n  else:\n    pass"


@pytest.mark.parametrize("prefix, text, unit", [
    ("def f():\n    ", "if x:\n        y = 1\n    return y", "    "),
    ("def f():\n\t", "if x:\n\t\ty = 1\n\treturn y", "\t"),
    ("def f():\n  ", "if x:\n    y = 1\n  return y", "  "),
    ("x = ", "1", "\t"),                                     # one line: nothing to re-indent
    ("def f():\n    ", "x = [\n        1,\n    ]", "    "),
])
def test_normalise_leaves_what_is_already_right(prefix, text, unit):
    assert normalise_indent(text, at_end(prefix), unit) == text


def test_first_line_indentation_on_a_column_zero_blank_line_follows_the_file_too():
    context = at_end("def f():\n\tx = 1\n")
    text = "    if x:\n        y = 1"
    assert normalise_indent(text, context, "\t") == "\tif x:\n\t\ty = 1"


# --- postprocess -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \n\t\n  "])
@pytest.mark.parametrize("single_line", [True, False])
def test_postprocess_drops_whitespace_only(text, single_line):
    assert postprocess(text, at_end("x = "), single_line, "    ") == Suggestion("", 0)


def test_postprocess_shows_nothing_for_a_completion_that_only_repeats_the_tail():
    context = cursor_context("foo()\n", 4)
    assert postprocess(")", context, True, "    ", "(") == Suggestion("", 0)


def test_postprocess_runs_every_step():
    prefix = "def f(items):\n\tfor item in items:\n\t\t"
    context = cursor_context(prefix + "\n\treturn total\n", len(prefix))
    text = "if item:\n            total += item\n    return total"
    assert postprocess(text, context, False, indent_unit(prefix)) == Suggestion("if item:\n\t\t\ttotal += item")


def test_postprocess_single_line_drops_the_auto_closed_tail():
    context = cursor_context("print(len())\n", len("print(len("))
    assert postprocess("items))", context, True, "    ", "((") == Suggestion("items", 0)


# --- guard -------------------------------------------------------------------------------------

def guarded(marked: str, completion: str, replace_chars: int = 0):
    offset = marked.index("|")
    text = marked[:offset] + marked[offset + 1:]
    source = encode_source(text)
    tree = parse(source)
    replace_bytes = len(encode_source(text[offset:offset + replace_chars]))
    return guard(tree, source, byte_offset(text, offset), replace_bytes, completion)


@pytest.mark.parametrize("marked, completion", [
    ("x = foo(|)\n", "a, b"),
    ("def f():\n    |\n", "x = 1\n    return x"),
    ("x = |\n", "1 + 2"),
    ("items = [|]\n", "1, 2, 3"),
])
def test_guard_keeps_a_completion_that_is_fine(marked, completion):
    assert guarded(marked, completion) == (completion, False)


@pytest.mark.parametrize("marked, completion, expected", [
    ("x = foo(|)\n", "a, b))", "a, b"),                                  # the longest cut that parses
    ("x = foo(|)\n", "a, bar(c)))", "a, bar(c)"),
    ("def f():\n    |\n", "x = 1\n    return x\n  )", "x = 1\n    return x"),
    ("s = 'é'\nx = foo(|)\n", "ü, b))", "ü, b"),                         # byte offsets past non-ASCII
])
def test_guard_cuts_a_completion_that_adds_an_error(marked, completion, expected):
    assert guarded(marked, completion) == (expected, True)


def test_guard_compares_a_broken_buffer_with_itself():
    marked = "def broken(:\n    pass\n\ny = foo(|)\n"
    text = marked.replace("|", "")
    assert count_errors(parse(encode_source(text)).root_node) > 0
    assert guarded(marked, "1") == ("1", False)          # not judged against a clean parse
    assert guarded(marked, "1))") == ("1", True)          # but what it adds is still cut


def test_guard_never_cuts_a_replace_suggestion():
    # It carries the line's tail: kept whole when no worse, else dropped (issue 15).
    assert guarded("x = foo(|)\n", "a).strip()", replace_chars=1) == ("a).strip()", False)
    assert guarded("x = foo(|)\n", "a)) + (", replace_chars=1) == ("", True)


def test_guard_drops_the_text_when_no_cut_helps():
    assert guarded("x = foo(|)\n", "(((") == ("", True)  # issue 15: never show what breaks the file


def test_guard_cuts_a_stray_closer_when_the_completion_also_fixes_the_line():
    assert guarded("x = |\n", "foo(a) + bar(b))") == ("foo(a) + bar(b)", True)


# --- cut_comment_over_code ------------------------------------------------------------------

@pytest.mark.parametrize("prefix, suffix, text, expected", [
    # SmolLM2's suggestion in a random-span hole: `while` gone, ` b:` right of the cursor
    ("def gcd(a, b):\n    ", " b:\n        a, b = b, a % b\n", " # implement the solution here", ""),
    ("x = ", " + 1\n", "f(y)  # the value", "f(y)"),
    ("x = (", ")\n", "a,\n     b  # note", "a,\n     b"),  # the last line joins `)`
])
def test_a_comment_before_code_right_of_the_cursor_is_cut(prefix, suffix, text, expected):
    from completion.postprocess import cut_comment_over_code
    assert cut_comment_over_code(text, at_end(prefix, suffix)) == expected


@pytest.mark.parametrize("prefix, suffix, text", [
    ("x = 1", "\n", "  # nothing right of the cursor"),
    ("x = 1", "  # the user's note\n", "  # a comment before a comment"),
    ("s = '", "'\n", "a # b"),                         # inside the user's string
    ("s = f(", ")\n", "'#', 2"),                       # a `#` in the suggestion's own string
    ("# todo: ", " later\n", "fix this"),              # the cursor is already in a comment
])
def test_a_comment_sign_that_swallows_no_code_stays(prefix, suffix, text):
    from completion.postprocess import cut_comment_over_code
    assert cut_comment_over_code(text, at_end(prefix, suffix)) == text
