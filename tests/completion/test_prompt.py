import pytest

from completion.cursor import cursor_context
from completion.prompt import PromptError, build_prompt, detect_format
from tests.completion.fakes import FIM, FakeGenerator

SOURCE = "import os\n\n" + "".join(f"def f{i}():\n    return {i}\n\n" for i in range(40))


def test_suffix_first_layout_for_the_embedded_family():
    gen = FakeGenerator()
    offset = SOURCE.index("return 3") + len("return ")
    prompt = build_prompt(gen, cursor_context(SOURCE, offset), "auto", budget=4096, draft_budget=4096)
    assert prompt.format == "embedded" and prompt.end_ids == (FIM["<EOT>"],)
    ids = list(prompt.ids)
    assert ids[:3] == [1, FIM["<PRE>"], FIM["<SUF>"]]
    mid = ids.index(FIM["<MID>"])
    assert ids[3:mid] == gen.encode(SOURCE[offset:])
    assert ids[mid + 1:] == gen.encode(SOURCE[:offset])  # generation continues the prefix
    assert list(prompt.draft_ids) == [1] + gen.encode(SOURCE[:offset])


def test_prefix_first_layout_for_codellama():
    spellings = {"▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009, "▁<EOT>": 32010}
    gen = FakeGenerator(vocabulary=spellings)
    offset = SOURCE.index("return 3") + len("return ")
    prompt = build_prompt(gen, cursor_context(SOURCE, offset), "auto", budget=4096, draft_budget=4096)
    assert prompt.format == "codellama" and prompt.end_ids == (32010,)
    ids = list(prompt.ids)
    assert ids[:2] == [1, 32007] and ids[-1] == 32009
    suf = ids.index(32008)
    assert ids[2:suf] == gen.encode(SOURCE[:offset])
    # the suffix is encoded without SentencePiece's leading space (Meta's encode_infilling)
    assert ids[suf + 1:-1] == gen.encode("☺" + SOURCE[offset:])[1:]


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
    prefix_text = "".join(chr(i - 10) for i in ids[ids.index(FIM["<MID>"]) + 1:])
    assert SOURCE[:offset].endswith(prefix_text) and prefix_text.endswith("def f39():\n    return ")
    assert prefix_text.startswith(("def", "    ", "\n"))  # cut at a line start, not mid-line
    assert prompt.suffix_tokens <= 120 * 0.25


def test_requested_format_missing_from_vocabulary():
    with pytest.raises(PromptError, match="codellama"):
        detect_format(FakeGenerator(), "codellama")
    assert detect_format(FakeGenerator(), "plain") == "plain"
