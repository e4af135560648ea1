import pytest

from completion.cursor import cursor_context
from completion.prompt import PromptError, build_prompt, detect_format
from tests.completion.fakes import FIM, FakeGenerator

SOURCE = "import os\n\n" + "".join(f"def f{i}():\n    return {i}\n\n" for i in range(40))


def test_fim_prompt_layout_when_the_target_has_fim_tokens():
    gen = FakeGenerator()
    offset = SOURCE.index("return 3") + len("return ")
    prompt = build_prompt(gen, cursor_context(SOURCE, offset), "auto", budget=4096, draft_budget=4096)
    assert prompt.format == "embedded" and prompt.end_ids == (FIM["<EOT>"],)
    ids = list(prompt.ids)
    assert ids[:2] == [1, FIM["<PRE>"]] and ids[-1] == FIM["<MID>"]
    suf = ids.index(FIM["<SUF>"])
    assert ids[2:suf] == gen.encode(SOURCE[:offset])
    assert ids[suf + 1:-1] == gen.encode(SOURCE[offset:])


def test_plain_prompt_without_fim_tokens():
    gen = FakeGenerator(vocabulary={})
    prompt = build_prompt(gen, cursor_context(SOURCE, 30), "auto", budget=4096, draft_budget=4096)
    assert prompt.format == "plain" and list(prompt.ids) == [1] + gen.encode(SOURCE[:30])


def test_budget_keeps_the_lines_nearest_the_cursor():
    gen = FakeGenerator()
    offset = SOURCE.index("return 39") + len("return ")
    prompt = build_prompt(gen, cursor_context(SOURCE, offset), "auto", budget=120, draft_budget=120)
    assert len(prompt.ids) <= 120
    ids = list(prompt.ids)
    prefix_text = "".join(chr(i - 10) for i in ids[2:ids.index(FIM["<SUF>"])])
    assert SOURCE[:offset].endswith(prefix_text) and prefix_text.endswith("def f39():\n    return ")
    assert prefix_text.startswith(("def", "    ", "\n"))  # cut at a line start, not mid-line
    assert prompt.suffix_tokens <= 120 * 0.25


def test_requested_format_missing_from_vocabulary():
    with pytest.raises(PromptError, match="codellama"):
        detect_format(FakeGenerator(), "codellama")
    assert detect_format(FakeGenerator(), "plain") == "plain"
