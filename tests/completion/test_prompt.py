from completion.context import build_context
from completion.cursor import cursor_context
from completion.formats import choose_format, encode_suffix
from completion.prompt import build_prompt
from tests.completion.fakes import FIM, FakeGenerator

SOURCE = "import os\n\n" + "".join(f"def f{i}():\n    return {i}\n\n" for i in range(40))


def make_prompt(gen, offset, requested="auto", budget=4096, draft_budget=4096, text=SOURCE):
    choice = choose_format(gen, requested)
    context = cursor_context(text, offset)
    window = build_context(context.prefix, context.suffix, budget - choice.reserved, gen.encode,
                           lambda t: encode_suffix(choice, gen, t), use_suffix=choice.is_fim)
    return build_prompt(choice, window, draft_budget), choice


def test_suffix_first_layout_for_the_embedded_family():
    gen = FakeGenerator()
    offset = SOURCE.index("return 3") + len("return ")
    prompt, _ = make_prompt(gen, offset)
    assert prompt.format == "embedded" and prompt.end_ids == (FIM["<EOT>"],)
    ids = list(prompt.ids)
    assert ids[:3] == [1, FIM["<PRE>"], FIM["<SUF>"]]
    mid = ids.index(FIM["<MID>"])
    suffix = gen.decode(ids[3:mid])
    assert SOURCE[offset:].startswith(suffix) and suffix.endswith("\n") and len(suffix) > 100
    assert ids[mid + 1:] == gen.encode(SOURCE[:offset])  # generation continues the prefix
    assert list(prompt.draft_ids) == [1] + gen.encode(SOURCE[:offset])


def test_prefix_first_layout_for_codellama():
    spellings = {"▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009, "▁<EOT>": 32010}
    gen = FakeGenerator(vocabulary=spellings)
    offset = SOURCE.index("return 3") + len("return ")
    prompt, _ = make_prompt(gen, offset)
    assert prompt.format == "codellama" and prompt.end_ids == (32010,)
    ids = list(prompt.ids)
    assert ids[:2] == [1, 32007] and ids[-1] == 32009
    suf = ids.index(32008)
    assert ids[2:suf] == gen.encode(SOURCE[:offset])
    # the suffix is encoded without SentencePiece's leading space (Meta's encode_infilling)
    suffix_ids = ids[suf + 1:-1]
    assert suffix_ids == gen.encode("☺" + gen.decode(suffix_ids))[1:]


def test_plain_prompt_without_fim_tokens():
    gen = FakeGenerator(vocabulary={})
    prompt, _ = make_prompt(gen, 30)
    assert prompt.format == "plain" and list(prompt.ids) == [1] + gen.encode(SOURCE[:30])


def test_budget_keeps_the_lines_nearest_the_cursor():
    gen = FakeGenerator()
    offset = SOURCE.index("return 39") + len("return ")
    prompt, _ = make_prompt(gen, offset, budget=120, draft_budget=120)
    assert len(prompt.ids) <= 120
    ids = list(prompt.ids)
    prefix_text = gen.decode(ids[ids.index(FIM["<MID>"]) + 1:])
    assert SOURCE[:offset].endswith(prefix_text) and prefix_text.endswith("def f39():\n    return ")
    assert SOURCE[:offset].endswith("\n" + prefix_text)  # cut at a line start, not mid-line
    assert prompt.suffix_tokens <= 120 * 0.25
    assert len(prompt.draft_ids) <= 120 and prompt.draft_ids[0] == 1


def test_requested_format_missing_from_vocabulary_falls_back_to_plain_with_a_warning():
    prompt, choice = make_prompt(FakeGenerator(), 30, requested="codellama")
    assert prompt.format == "plain" and "▁<PRE>" in choice.warning
    assert list(prompt.ids) == [1] + FakeGenerator().encode(SOURCE[:30])
