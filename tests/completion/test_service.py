from completion.service import MAX_CANDIDATES, CompletionOptions, CompletionRequest, CompletionService
from models.config import MAX_DRAFT_TOKENS, DecodingConfig
from tests.completion.fakes import FakeGenerator


def complete(text, marker, continuation, **options):
    offset = text.index(marker)
    text = text.replace(marker, "")
    gen = FakeGenerator(continuation=continuation)
    result = CompletionService(gen).complete(CompletionRequest(text, offset, CompletionOptions(**options)))
    return result, gen


def test_block_completion_stops_at_the_dedent_while_generating():
    result, _ = complete("def f(x):\n    |\n", "|", "y = x * 2\n    return y\nprint(1)\nmore text")
    assert result.text == "y = x * 2\n    return y"
    assert result.mode == "multi-line" and result.stop_reason == "stop-rule"
    assert result.decode.new_tokens == len("y = x * 2\n    return y\nprint(1)\n")  # stopped on that token


def test_mid_line_completion_is_one_line_without_the_auto_closed_bracket():
    result, _ = complete("x = foo(|)\n", "|", "a, b)\nnext()")
    assert result.text == "a, b"


def test_budget_leaves_room_for_new_tokens():
    gen = FakeGenerator(context_window=300)
    service = CompletionService(gen)
    room = 300 - 100 - (MAX_DRAFT_TOKENS + 1)  # window − new tokens − the longest draft and its verify token
    assert service.prompt_budget(CompletionOptions(max_new_tokens=100, context_tokens=1024)) == room
    text = "x = 1\n" * 200
    service.complete(CompletionRequest(text, len(text), CompletionOptions(max_new_tokens=100)))
    assert len(gen.prompts[0]) <= room


def test_stage_timings_are_reported():
    result, _ = complete("x = |", "|", "1\n")
    assert set(result.stage_ms) == {"parse", "decide", "context", "prompt", "generate", "finish"}


def test_a_time_budget_ends_a_block_at_its_last_whole_line():
    gen = FakeGenerator(continuation="a = 1\n    b = 2\n    c = 3\n    d = 4\n", seconds_per_token=0.01)
    text = "def f():\n    \n"
    result = CompletionService(gen).complete(
        CompletionRequest(text, len("def f():\n    "), CompletionOptions(time_budget_ms=150)))
    assert result.stop_reason == "time-budget"
    assert result.text in ("a = 1", "a = 1\n    b = 2", "a = 1\n    b = 2\n    c = 3")  # whole lines only
    unlimited = CompletionService(FakeGenerator(continuation=gen.continuation)).complete(
        CompletionRequest(text, len("def f():\n    "), CompletionOptions(time_budget_ms=0)))
    assert unlimited.text == "a = 1\n    b = 2\n    c = 3\n    d = 4"


def test_postprocess_off_returns_the_generation_as_it_came():
    continuation = "y = x * 2\n    return y\nprint(1)\n"
    result, _ = complete("def f(x):\n    |\n", "|", continuation, postprocess=False)
    assert result.text == continuation  # no dedent stop, no trimming, no guard
    assert result.stop_reason == "eos" and result.replace_chars == 0
    result, _ = complete("x = foo(|)\n", "|", "a, b)\nnext()", postprocess=False)
    assert result.text == "a, b)\nnext()"  # the auto-closed bracket is repeated: nothing fitted it


def test_each_request_decodes_with_its_own_settings():
    """Decoding travels with the request: two requests through one service (one shared
    model pair) each reach the model with exactly their own decoding."""
    gen = FakeGenerator(continuation="1\n")
    service = CompletionService(gen)
    hot = DecodingConfig(draft_tokens=3, source="lookup", temperature=0.7, top_k=5, top_p=0.9, seed=11)
    for decoding in (hot, DecodingConfig()):
        service.complete(CompletionRequest("x = ", 4, CompletionOptions(decoding=decoding)))
    assert gen.decodings == [hot, DecodingConfig()]


def test_the_time_budget_counts_context_building():
    """The budget is the whole request's: a slow context stage spends it, and the model is
    handed the deadline fixed when the request began, before any token was encoded."""
    gen = FakeGenerator(continuation="a = 1\n    b = 2\n", seconds_per_encode=0.06)  # one encode outlasts the budget
    text = "def f():\n" + "    x = 1\n" * 40 + "    \n"
    result = CompletionService(gen).complete(
        CompletionRequest(text, len(text) - 1, CompletionOptions(time_budget_ms=50)))
    (deadline,) = gen.deadlines
    assert deadline is not None and deadline <= gen.encoded_at[0] + 0.05
    assert result.stop_reason == "time-budget" and result.text == ""  # spent before the first token
    assert result.decode.new_tokens == 0
    unlimited = FakeGenerator(continuation=gen.continuation)
    CompletionService(unlimited).complete(CompletionRequest(text, len(text) - 1, CompletionOptions()))
    assert unlimited.deadlines == [None]



def test_a_candidate_that_shows_nothing_is_followed_by_the_models_next_one():
    """Invalid Python is never shown; the next candidate (another first token) may be."""
    text = "def load(path):\n    with open(path) as handle:\n        "
    generator = FakeGenerator(continuation="def\n", alternatives=("return handle.read()\n",))
    result = CompletionService(generator).complete(CompletionRequest(text, len(text), CompletionOptions()))
    assert result.text == "return handle.read()" and result.candidates == 2
    assert result.decode.prompt_tokens == len(generator.prompts[0])  # one prompt, counted once
    assert result.decode.new_tokens == len("def\n") + len("return handle.read()\n")
    assert generator.banned == [(), (ord("d") + 10,)]
    assert result.summary()["candidates"] == 2


def test_candidates_are_bounded_and_need_time_left():
    text = "def load(path):\n    with open(path) as handle:\n        "
    junk = FakeGenerator(continuation="def\n", alternatives=("class\n", "import\n", "return 1\n"))
    result = CompletionService(junk).complete(CompletionRequest(text, len(text), CompletionOptions()))
    assert result.text == "" and result.candidates == MAX_CANDIDATES and result.guarded
    assert junk.banned[-1] == (ord("d") + 10, ord("c") + 10)
    slow = FakeGenerator(continuation="def\n", alternatives=("return 1\n",), seconds_per_token=0.05)
    result = CompletionService(slow).complete(CompletionRequest(text, len(text), CompletionOptions(time_budget_ms=100)))
    assert result.candidates == 1 and len(slow.prompts) == 1  # the budget was spent on the first
    raw = FakeGenerator(continuation="def\n", alternatives=("return 1\n",))
    result = CompletionService(raw).complete(CompletionRequest(text, len(text), CompletionOptions(postprocess=False)))
    assert result.text == "def\n" and result.candidates == 1
