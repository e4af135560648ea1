"""completion/context.py: what the model reads, within a token budget.

The encoder is a fake with one id per character, so token counts are character counts
and every id can be decoded back to the text it stands for."""

import pytest

from completion.context import CROSS_FILE_SHARE, NEAR_SHARE, SNAP_LINES, SUFFIX_SHARE, build_context
from completion.crossfile import Snippet
from completion.cursor import cursor_context
from completion.documents import encode_source
from completion.syntax import syntax_at


def encode(text):
    return [ord(c) + 10 for c in text]


def decode(ids):
    return "".join(chr(i - 10) for i in ids)


def window_at(text, offset, budget, snippets=(), use_suffix=True):
    """The window the service would build at `offset`, headers from tree-sitter."""
    context = cursor_context(text, offset)
    syntax = syntax_at(text, context.prefix)
    source = encode_source(text)
    offsets = [len(source[:h.start_byte].decode("utf-8", "surrogatepass")) for h in syntax.enclosing]
    window = build_context(context.prefix, context.suffix, budget, encode, None, syntax.enclosing, offsets,
                           snippets, use_suffix)
    return window, context, syntax


def offset_of(text, line, column=None):
    """Code-point offset of (line, column); column None is the line's end."""
    lines = text.split("\n")
    start = sum(len(l) + 1 for l in lines[:line])
    return start + (len(lines[line]) if column is None else column)


def assert_consistent(window):
    """Ids are exactly the encodings of the pieces, and `tokens` counts them all."""
    assert list(window.preamble_ids) == encode(window.preamble)
    assert list(window.prefix_ids) == encode(window.prefix)
    assert list(window.suffix_ids) == encode(window.suffix)
    assert window.tokens == len(window.preamble) + len(window.prefix) + len(window.suffix)


MODULE = "".join(f"value_{i} = compute({i})\n" for i in range(400))


def test_a_small_file_fits_whole():
    text = "import os\n\ndef f(x):\n    return x\n\nprint(f(1))\n"
    offset = text.index("return x") + len("return ")
    window, context, _ = window_at(text, offset, 1000)
    assert window.prefix == context.prefix and window.suffix == context.suffix
    assert window.preamble == "" and window.first_line == 0
    assert_consistent(window)


@pytest.mark.parametrize("budget", [64, 100, 257, 512, 1000, 3000])
@pytest.mark.parametrize("line", [50, 200, 399])
def test_budget_is_respected_exactly_and_mostly_used(line, budget):
    window, _, _ = window_at(MODULE, offset_of(MODULE, line, 8), budget)
    assert_consistent(window)
    assert window.tokens <= budget
    assert window.tokens >= 0.6 * budget  # a long file: the budget is not left mostly unused


@pytest.mark.parametrize("budget", [64, 200, 1000])
def test_budget_is_respected_with_snippets(budget):
    snippets = [Snippet(f"lib.py:f{i}", f"# lib.py\n# def f{i}(a, b):\n") for i in range(30)]
    window, _, _ = window_at(MODULE, offset_of(MODULE, 300, 8), budget, snippets)
    assert_consistent(window)
    assert window.tokens <= budget


def test_suffix_takes_at_most_a_quarter_and_ends_at_a_line_end():
    budget = 400
    window, context, _ = window_at(MODULE, offset_of(MODULE, 100, 8), budget)
    assert 0 < len(window.suffix_ids) <= int(budget * SUFFIX_SHARE)
    assert context.suffix.startswith(window.suffix)  # the suffix's head, from the cursor
    assert window.suffix.endswith("\n")
    assert len(window.prefix_ids) > len(window.suffix_ids)  # the rest goes to the prefix


def test_short_suffix_is_taken_whole_and_blank_suffix_costs_nothing():
    text = "def f():\n    return 1\n"
    window, context, _ = window_at(text, text.index("return"), 1000)
    assert window.suffix == context.suffix
    text = "x = 1\ny = \n\n   \n"
    window, _, _ = window_at(text, text.index("y = ") + 4, 1000)
    assert window.suffix == "" and window.suffix_ids == ()


def test_without_suffix_the_prefix_gets_the_whole_budget():
    window, _, _ = window_at(MODULE, offset_of(MODULE, 300, 8), 500, use_suffix=False)
    assert window.suffix == "" and window.suffix_ids == ()
    assert window.tokens <= 500 and len(window.prefix_ids) > 0.75 * 500


@pytest.mark.parametrize("budget", [50, 120, 333, 800])
@pytest.mark.parametrize("line", [20, 150, 399])
def test_prefix_window_is_line_aligned_and_ends_at_the_cursor(line, budget):
    window, context, _ = window_at(MODULE, offset_of(MODULE, line, 10), budget)
    start = len(context.prefix) - len(window.prefix)
    assert context.prefix.endswith(window.prefix)
    assert start == 0 or context.prefix[start - 1] == "\n"
    assert window.first_line == context.prefix.count("\n", 0, start)
    assert window.prefix.endswith(context.line_prefix)  # the cursor's line is always there


# --- headers of the enclosing class and def -------------------------------------------------

def nested(body_lines=200, class_lines=0):
    return ("import os\n\nclass Alpha(Base):\n"
            + "".join(f"    attr_{i} = {i}\n" for i in range(class_lines))
            + "    def method(self, a, b):\n"
            + "".join(f"        x{i} = a + {i}\n" for i in range(body_lines))
            + "        return x\n\n\nprint(Alpha)\n")


def test_headers_cut_off_by_the_window_come_back_outermost_first():
    text = nested()
    window, context, syntax = window_at(text, text.index("return x") + len("return x"), 300)
    assert [h.kind for h in syntax.enclosing] == ["class", "def"]
    assert window.preamble == "class Alpha(Base):\n    def method(self, a, b):\n"
    assert "class Alpha" not in window.prefix and "def method" not in window.prefix
    assert window.first_line > 3
    assert_consistent(window)
    assert window.tokens <= 300


def test_only_the_headers_the_window_cuts_off_come_back():
    text = nested(body_lines=5, class_lines=200)
    window, _, _ = window_at(text, text.index("return x") + len("return x"), 300)
    assert "    def method(self, a, b):\n" in window.prefix
    assert window.preamble == "class Alpha(Base):\n"
    assert window.tokens <= 300


def test_no_header_is_repeated_when_the_window_holds_it():
    text = nested(body_lines=5)
    window, _, _ = window_at(text, text.index("return x") + len("return x"), 2000)
    assert window.preamble == ""
    assert window.prefix.count("class Alpha") == 1 and window.prefix.count("def method") == 1


def test_headers_come_back_on_a_blank_line_at_the_end_of_a_body():
    text = nested()
    offset = text.index("        return x\n")  # a fresh line in the body, before `return x` is typed
    text = text[:offset] + "        \n" + text[offset + len("        return x\n"):]
    window, _, _ = window_at(text, offset + 8, 300)
    assert window.preamble == "class Alpha(Base):\n    def method(self, a, b):\n"


def test_snippets_come_before_headers_in_the_preamble():
    text = nested()
    snippet = Snippet("lib.py:helper", "# lib.py\n# def helper(a):\n")
    window, _, _ = window_at(text, text.index("return x") + len("return x"), 400, [snippet])
    assert window.preamble == snippet.text + "class Alpha(Base):\n    def method(self, a, b):\n"
    assert window.snippets == ("lib.py:helper",)
    assert window.tokens <= 400


HEADER_OVERFLOW = ("class Alpha:\n" + "".join(f"    v{i} = {i}\n" for i in range(15))
                   + "    def method(self):\n        return x")


def test_budget_is_respected_when_the_refit_cuts_off_one_more_header():
    text = HEADER_OVERFLOW
    over = []
    for budget in range(40, 120):
        window, _, _ = window_at(text, len(text), budget, use_suffix=False)
        if window.tokens > budget:
            over.append((budget, window.tokens))
    assert over == []


def test_budget_is_respected_with_a_cursor_line_longer_than_the_budget_and_a_preamble():
    prefix = "import os\nx = " + "a" * 300
    snippet = Snippet("h.py:f", "# h.py\n# def f(x):\n")
    window = build_context(prefix, "", 100, encode, snippets=[snippet], use_suffix=False)
    assert window.tokens <= 100


def test_a_cursor_line_longer_than_the_budget_keeps_its_end():
    prefix = "import os\nx = " + "a" * 296 + "tail"
    window = build_context(prefix, "", 100, encode, use_suffix=False)
    assert window.tokens <= 100
    assert decode(window.prefix_ids).endswith("tail")


# --- cross-file snippets -----------------------------------------------------------------

def short_lines(count):
    return "".join(f"a{i % 10} = {i % 10}\n" for i in range(count))  # 7 characters a line


def test_snippets_stay_within_their_share_and_never_push_the_prefix_below_half():
    text = short_lines(2000)
    budget = 4000
    snippets = [Snippet(f"lib.py:f{i}", "# lib.py\n# def f%d(%s):\n" % (i, "x" * 120)) for i in range(20)]
    window, _, _ = window_at(text, len(text) - 1, budget, snippets)
    snippet_chars = sum(len(s.text) for s in snippets if s.label in window.snippets)
    assert window.snippets and len(window.snippets) < len(snippets)
    assert snippet_chars <= budget * CROSS_FILE_SHARE
    assert len(window.prefix_ids) >= budget * NEAR_SHARE
    assert window.tokens <= budget


def test_snippets_are_taken_in_order_and_one_too_big_is_skipped():
    text = short_lines(2000)
    small = [Snippet(f"lib.py:s{i}", f"# lib.py\n# def s{i}():\n") for i in range(3)]
    big = Snippet("lib.py:big", "# lib.py\n# def big(%s):\n" % ("y" * 500))
    window, _, _ = window_at(text, len(text) - 1, 1000, [small[0], big, small[1], small[2]])
    assert window.snippets == ("lib.py:s0", "lib.py:s1", "lib.py:s2")
    assert window.preamble == small[0].text + small[1].text + small[2].text


def test_a_snippet_already_in_the_prefix_or_already_chosen_is_left_out():
    snippet = Snippet("lib.py:helper", "# lib.py\n# def helper(a):\n")
    again = Snippet("lib.py:helper2", snippet.text)
    other = Snippet("lib.py:other", "# lib.py\n# def other(b):\n")
    text = short_lines(500)
    window, _, _ = window_at(text, len(text) - 1, 1000, [snippet, again, other])
    assert window.snippets == ("lib.py:helper", "lib.py:other")
    assert window.preamble.count(snippet.text) == 1
    text = snippet.text + "x = 1\n" + short_lines(10)
    window, _, _ = window_at(text, len(text) - 1, 1000, [snippet, other])
    assert window.snippets == ("lib.py:other",)
    assert snippet.text not in window.preamble


# --- cache stability ----------------------------------------------------------------------

def prompt_ids(window):
    return list(window.preamble_ids) + list(window.prefix_ids)


def test_typing_and_moving_a_few_lines_down_keeps_the_prompt_head():
    """Consecutive prompts share their first tokens (a KV cache reuses them): the window's
    first line moves only in SNAP_LINES steps, so typing on the cursor's line and moving a
    few lines down changes it at most once over a whole word and a few lines."""
    base = MODULE
    windows = []
    for line in range(300, 306):
        start = offset_of(base, line, 0)
        for typed in ("", "r", "re", "res", "resu", "resul", "result", "result ", "result =", "result = v"):
            text = base[:start] + typed + base[start:]
            window, context, _ = window_at(text, start + len(typed), 1200)
            windows.append((window, context, start))
    first_lines = [w.first_line for w, _, _ in windows]
    assert len(set(first_lines)) <= 2
    assert all(n % SNAP_LINES == 0 for n in first_lines)
    for (a, ctx_a, start_a), (b, ctx_b, start_b) in zip(windows, windows[1:]):
        if a.first_line != b.first_line:
            continue
        assert a.preamble_ids == b.preamble_ids
        window_start = len(ctx_a.prefix) - len(a.prefix)
        shared = len(a.preamble) + min(start_a, start_b) - window_start  # up to the cursor's line
        assert shared > 0.5 * len(a.prefix)
        assert prompt_ids(a)[:shared] == prompt_ids(b)[:shared]


def test_typing_inside_a_method_keeps_the_headers_and_window_start():
    text = nested()
    cursor = text.index("        return x") + len("        return ")
    windows = []
    for typed in ("", "s", "se", "sel", "self", "self.", "self.a"):
        edited = text[:cursor] + typed + text[cursor:].replace("x\n", "\n", 1)
        window, _, _ = window_at(edited, cursor + len(typed), 300)
        windows.append(window)
    assert all(w.preamble == windows[0].preamble != "" for w in windows)
    assert len({w.first_line for w in windows}) == 1
