"""completion/validity.py and the finish stage around it (issue 15): a suggestion is shown
only if the document after accepting it is no worse than before."""

from __future__ import annotations

import time

import pytest

from completion.cursor import cursor_context
from completion.decide import SINGLE_LINE
from completion.postprocess import cut_suffix_repeats
from completion.service import CompletionOptions, CompletionRequest, CompletionService
from completion.stops import StopRule
from completion.validity import compiles, keep_valid
from tests.completion.fakes import FakeGenerator


def complete(marked: str, model: str, **options):
    offset = marked.index("|")
    text = marked[:offset] + marked[offset + 1:]
    options = {"max_new_tokens": 256, **options}
    return CompletionService(FakeGenerator(continuation=model)).complete(
        CompletionRequest(text, offset, CompletionOptions(**options)))


def accepted(marked: str, result) -> str:
    offset = marked.index("|")
    return marked[:offset] + result.text + marked[offset + 1 + result.replace_chars:]


def valid(marked: str, text: str, replace_chars: int = 0) -> tuple[str, bool]:
    offset = marked.index("|")
    return keep_valid(text, cursor_context(marked[:offset] + marked[offset + 1:], offset), replace_chars)


# --- the junk from the issue: nothing invalid is shown -------------------------------------

WITH_BODY = "def load(path):\n    with open(path) as handle:\n        |\n"
LOOPING_BLOCK = ("if not in self.handle:\n"
                 "            if not self.handle:\n"
                 "                raise ValueError(\"cannot use %s\" % (name, self.handle))\n"
                 "            if not self.handle:\n")

JUNK = [
    pytest.param(WITH_BODY, LOOPING_BLOCK, {}, id="make-demo-block-in-with-body"),
    pytest.param("def f(x):\n    y = x + 1\n    |\n    return y\n", "def\n", {}, id="bare-def-in-body"),
    pytest.param("def f(x):\n    def g|\n", "():\n", {"multiline": "never"}, id="header-without-body-single-line"),
    pytest.param("class A:\n    def __init__|\n",
                 "(self, name" + ", value" * 40, {}, id="init-parameter-loop-unclosed"),
    pytest.param("result = compute|\n", "(i" + ",2" * 80, {}, id="tuple-loop-unclosed"),
]


@pytest.mark.parametrize("marked, model, options", JUNK)
def test_the_issues_junk_is_never_shown(marked, model, options):
    result = complete(marked, model, **options)
    assert (result.text, result.guarded) == ("", True), accepted(marked, result)


def test_the_make_demo_block_is_dropped_whole():
    result = complete(WITH_BODY, LOOPING_BLOCK)
    assert (result.text, result.guarded) == ("", True)


def test_a_bare_keyword_is_dropped():
    assert valid("def f(x):\n    y = x + 1\n    |\n    return y\n", "def") == ("", True)


def test_a_header_with_nothing_to_run_is_dropped_in_single_line_mode():
    assert valid("def f(x):\n    def g|\n", "():") == ("", True)
    assert complete("def f(x):\n    def g|\n", "():\n", multiline="never").text == ""


def test_a_repeated_parameter_is_never_valid_even_when_closed():
    assert not compiles("def __init__(self, name, value, value):\n    pass\n")
    text, cut = valid("class A:\n    def __init__(|):\n        pass\n", "self, name, value, value, value")
    assert cut and text == "self, name, value"


def test_an_unclosed_loop_of_arguments_is_dropped():
    assert valid("result = compute|\n", "(i" + ",2" * 80) == ("", True)


# --- what must still pass unchanged --------------------------------------------------------

FINE = [
    pytest.param("def f(x):\n    y = |\n    return y\n", "x * 2\n", "x * 2", {}, id="simple-statement"),
    pytest.param("x = |\n", "foo(a)\n", "foo(a)", {}, id="line-being-typed"),
    pytest.param("def f(items):\n    for item in ite|\n        print(item)\n", "ms:\n", "ms:", {},
                 id="header-whose-body-follows"),
    pytest.param("def f(items):\n    x = len(|)\n", "items)\n", "items", {}, id="auto-closed-bracket"),
    pytest.param("def f(items):\n    total = 0\n    |\n",
                 "for item in items:\n        total += item\n    return total\n",
                 "for item in items:\n        total += item\n    return total", {}, id="multi-line-body"),
    pytest.param("def f(items):\n    if |\n", "not items:\n        return None\n", "not items:\n        return None",
                 {}, id="single-line-header-with-its-body"),
    pytest.param("def broken(:\n    pass\n\ndef ok():\n    |\n", "return 1\n", "return 1", {},
                 id="unrelated-error-elsewhere"),
    pytest.param("def f(items):\n    bad = \n    x = |\n    return x\n", "1 + 2\n", "1 + 2", {},
                 id="unrelated-error-in-the-same-block"),
    pytest.param("@app.route(|)\ndef health():\n    return 'ok'\n", "'/health')\n", "'/health'", {},
                 id="decorator-line"),
    pytest.param("if a:\n    x = 1\n    |\nelse:\n    y = 2\n", "z = 3\n", "z = 3", {}, id="before-an-else"),
]


@pytest.mark.parametrize("marked, model, expected, options", FINE)
def test_normal_completions_pass_unchanged(marked, model, expected, options):
    result = complete(marked, model, **options)
    assert (result.text, result.guarded) == (expected, False)


def test_a_block_is_cut_to_its_longest_valid_prefix_of_lines():
    assert valid("def scale(x):\n    |\n    return x\n", "y = x * 2\n    if y > 10:") == ("y = x * 2", True)


def test_a_line_is_cut_to_its_longest_valid_prefix_of_tokens():
    assert valid("x = |\n", "foo(a) + bar(b))") == ("foo(a) + bar(b)", True)


def test_a_suggestion_replacing_the_line_tail_is_kept_or_dropped_whole():
    assert valid("x = foo(|)\n", "a).strip()", replace_chars=1) == ("a).strip()", False)
    assert valid("x = foo(|)\n", "a)) + (", replace_chars=1) == ("", True)


# --- single-line mode: a header goes on to its body ---------------------------------------

def test_single_line_mode_goes_on_past_a_header_with_no_body_below():
    rule = StopRule(SINGLE_LINE, cursor_context("def f(items):\n    if \n", len("def f(items):\n    if ")),
                    header_body=True)
    assert rule.finish("not items:\n        return None\n    x = 1\n", False) == "not items:\n        return None"


def test_single_line_mode_stops_at_the_header_when_its_body_follows_or_multi_line_is_off():
    body_follows = "def f(items):\n    if \n        return None\n"
    rule = StopRule(SINGLE_LINE, cursor_context(body_follows, len("def f(items):\n    if ")), header_body=True)
    assert rule.finish("not items:\n        return None\n", False) == "not items:"
    text = "def f(items):\n    if \n"
    never = StopRule(SINGLE_LINE, cursor_context(text, len("def f(items):\n    if ")), header_body=False)
    assert never.finish("not items:\n        return None\n", False) == "not items:"


# --- judged against the suffix ------------------------------------------------------------

def suffix_cut(marked: str, text: str) -> str:
    offset = marked.index("|")
    return cut_suffix_repeats(text, cursor_context(marked[:offset] + marked[offset + 1:], offset))


def test_a_suggestion_that_redefines_the_suffixs_next_definition_is_cut():
    marked = "import os\n|\n\ndef load(path):\n    return path\n"
    assert suffix_cut(marked, "X = 1\n\n\ndef load(path):\n    pass") == "X = 1"
    assert suffix_cut(marked, "def load(path):\n    pass") == ""


def test_a_suggestion_that_repeats_the_next_line_at_any_depth_is_cut():
    marked = "def f(items):\n    |\n    total = sum(items)\n"
    assert suffix_cut(marked, "x = 1\n            total = sum(items)") == "x = 1"
    assert suffix_cut(marked, "total = sum(items)") == ""


def test_an_early_exit_in_a_block_the_suggestion_opened_is_no_repeat():
    marked = "def read(stream):\n    while True:\n        |\n    return lines\n"
    text = "line = stream.readline()\n        if not line:\n            return lines"
    assert suffix_cut(marked, text) == text


def test_trivial_lines_are_no_repeat():
    marked = "def f():\n    try:\n        |\n    pass\n"
    assert suffix_cut(marked, "x = 1\n        pass") == "x = 1\n        pass"


# --- bounded ------------------------------------------------------------------------------

def test_a_huge_file_is_judged_by_a_bounded_region():
    block = "".join(f"def f{i}(items):\n    return {i}\n\n\n" for i in range(30000))  # ~1 MB each side
    marked = block + "def g(items):\n    total = |\n    return total\n\n\n" + block
    offset = marked.index("|")
    context = cursor_context(marked[:offset] + marked[offset + 1:], offset)
    context.open_brackets  # computed for every request anyway
    started = time.perf_counter()
    assert keep_valid("len(items))", context) == ("len(items)", True)
    assert time.perf_counter() - started < 0.05


def test_a_huge_cursor_line_makes_the_check_abstain():
    line = "x = [" + "1, " * 300000
    context = cursor_context(line + "]\n", len(line))
    started = time.perf_counter()
    assert keep_valid("2", context) == ("2", False)
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize("code", ["-" * 8000 + "1", "a" + ".b" * 4000, "1" + "+1" * 4000, "[" * 8000])
def test_code_too_deep_for_cpythons_parser_does_not_compile_and_does_not_raise(code):
    assert compiles(code) is False
