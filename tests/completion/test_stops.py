from completion.cursor import cursor_context
from completion.decide import MULTI_LINE, SINGLE_LINE
from completion.stops import StopRule


def rule(prefix: str, suffix: str = "", mode: str = MULTI_LINE) -> StopRule:
    return StopRule(mode, cursor_context(prefix + suffix, len(prefix)))


def test_single_line_ends_at_the_newline():
    r = rule("x = foo(", mode=SINGLE_LINE)
    assert not r.should_stop("a, b)")
    assert r.should_stop("a, b)\n")
    assert r.finish("a, b)\ny = 2", hit_token_limit=False) == "a, b)"


def test_block_ends_at_a_dedent():
    r = rule("def f(x):\n    ")
    text = "y = x + 1\n    return y\nprint(f(2))\n"
    assert r.should_stop(text)
    assert r.finish(text, hit_token_limit=False) == "y = x + 1\n    return y"


def test_a_block_that_the_completion_opens_ends_when_it_closes():
    r = rule("class A:\n    ")
    text = "def f(self):\n        return 1\n    def g(self):\n"
    assert r.finish(text, hit_token_limit=False) == "def f(self):\n        return 1"


def test_deeper_first_line_on_a_blank_line_sets_the_block():
    r = rule("def f(x):\n")  # cursor at column 0 of a blank line inside the body
    text = "    y = x\n    return y\ndef g():\n"
    assert r.finish(text, hit_token_limit=False) == "    y = x\n    return y"


def test_blank_line_pair_ends_a_top_level_block():
    r = rule("import os\n")
    assert r.finish("x = 1\ny = 2\n\n\nz = 3\n", hit_token_limit=False) == "x = 1\ny = 2"


def test_a_line_repeating_the_suffix_is_cut():
    r = rule("def f(x):\n    ", suffix="\n    return y\n")
    assert r.finish("y = x * 2\n    return y\n", hit_token_limit=False) == "y = x * 2"


def test_half_a_line_is_dropped_when_tokens_run_out():
    r = rule("def f(x):\n    ")
    assert r.finish("y = 1\n    z = foo(a,", hit_token_limit=True) == "y = 1"
    # a single unfinished line is all there is: keep it
    assert r.finish("y = foo(a,", hit_token_limit=True) == "y = foo(a,"


def test_whitespace_only_means_nothing_to_show():
    assert rule("x = ", mode=SINGLE_LINE).finish("   \n", hit_token_limit=False) == ""


def test_a_loop_stops_generation_and_is_cut_at_its_second_copy():
    r = rule("def f(self):\n    ")
    text = "self.items.append(1)\n    self.items.append(1)\n    self.items.append(1)\n"
    assert not r.should_stop("self.items.append(1)\n    self.items.append(1)")  # the copy may still differ
    assert r.should_stop("self.items.append(1)\n    self.items.append(1)\n")
    assert r.finish(text, hit_token_limit=False) == "self.items.append(1)"
    assert rule("def __init__(", mode=SINGLE_LINE).finish("self, value, value):", hit_token_limit=False) \
        == "self, value,"
