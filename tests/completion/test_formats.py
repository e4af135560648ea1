from dataclasses import dataclass

import pytest

from completion.formats import PROMPT_FORMATS, choose_format, encode_suffix, layout
from tests.completion.fakes import FakeGenerator

BOS = 1
PREFIX = [501, 502]  # stand-ins for encoded text, distinct from every special id
SUFFIX = [601, 602, 603]

# Each family's spellings with made-up ids: (fim prefix, suffix, middle), then end tokens.
VOCABULARIES = {
    "codellama": {"▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009, "▁<EOT>": 32010},
    "embedded": {"<PRE>": 1000, "<SUF>": 1001, "<MID>": 1002, "<EOT>": 1003},
    "starcoder": {"<fim_prefix>": 49001, "<fim_middle>": 49002, "<fim_suffix>": 49003,
                  "<|endoftext|>": 49000, "<file_sep>": 49005},
    "santacoder": {"<fim-prefix>": 49153, "<fim-middle>": 49154, "<fim-suffix>": 49155,
                   "<|endoftext|>": 49152},
    "deepseek": {"<｜fim▁begin｜>": 32016, "<｜fim▁hole｜>": 32015, "<｜fim▁end｜>": 32017,
                 "<|EOT|>": 32021, "<｜end▁of▁sentence｜>": 32014},
    "qwen": {"<|fim_prefix|>": 151659, "<|fim_middle|>": 151660, "<|fim_suffix|>": 151661,
             "<|endoftext|>": 151643, "<|fim_pad|>": 151662, "<|repo_name|>": 151663,
             "<|file_sep|>": 151664},
}
FIM_SPELLINGS = {
    "codellama": ("▁<PRE>", "▁<SUF>", "▁<MID>"),
    "embedded": ("<PRE>", "<SUF>", "<MID>"),
    "starcoder": ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    "santacoder": ("<fim-prefix>", "<fim-suffix>", "<fim-middle>"),
    "deepseek": ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
    "qwen": ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
}
END_IDS = {
    "codellama": (32010,),
    "embedded": (1003,),
    "starcoder": (49000, 49005),
    "santacoder": (49152,),
    "deepseek": (32021, 32014),
    "qwen": (151643, 151662, 151664, 151663),  # family order: endoftext, fim_pad, file_sep, repo_name
}


def fim_ids(family):
    vocabulary = VOCABULARIES[family]
    return tuple(vocabulary[token] for token in FIM_SPELLINGS[family])


def test_prompt_formats_lists_auto_every_family_and_plain():
    assert PROMPT_FORMATS == ("auto", "codellama", "embedded", "starcoder", "santacoder", "deepseek", "qwen", "plain")


@pytest.mark.parametrize("family", list(VOCABULARIES))
def test_auto_detects_each_family(family):
    choice = choose_format(FakeGenerator(vocabulary=VOCABULARIES[family]), "auto")
    assert choice.name == family and choice.warning is None
    assert (choice.prefix_id, choice.suffix_id, choice.middle_id) == fim_ids(family)
    assert choice.end_ids == END_IDS[family]


@pytest.mark.parametrize("family", list(VOCABULARIES))
def test_naming_a_present_family_picks_it(family):
    choice = choose_format(FakeGenerator(vocabulary=VOCABULARIES[family]), family)
    assert choice.name == family and choice.warning is None


@pytest.mark.parametrize("family, expected", [
    # Meta's reference: [BOS, PRE] + prefix + [SUF] + suffix + [MID]
    ("codellama", [BOS, 32007, *PREFIX, 32008, *SUFFIX, 32009]),
    # suffix first: [BOS, PRE, SUF] + suffix + [MID] + prefix
    ("embedded", [BOS, 1000, 1001, *SUFFIX, 1002, *PREFIX]),
    # no BOS even though the tokenizer reports one (StarCoder's bos is <|endoftext|>)
    ("starcoder", [49001, *PREFIX, 49003, *SUFFIX, 49002]),
    ("santacoder", [49153, *PREFIX, 49155, *SUFFIX, 49154]),
    ("deepseek", [BOS, 32016, *PREFIX, 32015, *SUFFIX, 32017]),
    ("qwen", [151659, *PREFIX, 151661, *SUFFIX, 151660]),
])
def test_layout_of_each_family(family, expected):
    choice = choose_format(FakeGenerator(vocabulary=VOCABULARIES[family], bos_id=BOS), "auto")
    assert layout(choice, PREFIX, SUFFIX) == expected
    assert choice.reserved == len(expected) - len(PREFIX) - len(SUFFIX)


def test_families_that_use_bos_leave_it_out_when_the_tokenizer_has_none():
    choice = choose_format(FakeGenerator(vocabulary=VOCABULARIES["deepseek"], bos_id=None), "auto")
    assert choice.bos == []
    assert layout(choice, PREFIX, SUFFIX) == [32016, *PREFIX, 32015, *SUFFIX, 32017]


def test_plain_is_left_context_after_bos_and_ignores_the_suffix():
    choice = choose_format(FakeGenerator(vocabulary={}), "auto")
    assert choice.name == "plain" and not choice.is_fim and choice.warning is None
    assert (choice.prefix_id, choice.suffix_id, choice.middle_id, choice.end_ids) == (None, None, None, ())
    assert layout(choice, PREFIX, SUFFIX) == [BOS, *PREFIX]
    no_bos = choose_format(FakeGenerator(vocabulary={}, bos_id=None), "plain")
    assert layout(no_bos, PREFIX, SUFFIX) == PREFIX


def test_plain_can_be_forced_over_present_fim_tokens():
    choice = choose_format(FakeGenerator(vocabulary=VOCABULARIES["qwen"]), "plain")
    assert choice.name == "plain" and choice.warning is None
    assert layout(choice, PREFIX, SUFFIX) == [BOS, *PREFIX]


def test_absent_end_tokens_are_skipped():
    vocabulary = dict(VOCABULARIES["qwen"])
    del vocabulary["<|fim_pad|>"], vocabulary["<|repo_name|>"]
    choice = choose_format(FakeGenerator(vocabulary=vocabulary), "auto")
    assert choice.name == "qwen" and choice.end_ids == (151643, 151664)


def test_a_family_without_any_end_token_still_fills_in_the_middle():
    vocabulary = {token: 10 + i for i, token in enumerate(FIM_SPELLINGS["deepseek"])}
    choice = choose_format(FakeGenerator(vocabulary=vocabulary), "auto")
    assert choice.name == "deepseek" and choice.end_ids == ()  # EOS alone ends generation


def test_end_tokens_sharing_an_id_are_listed_once():
    vocabulary = {**VOCABULARIES["starcoder"], "<file_sep>": 49000}
    assert choose_format(FakeGenerator(vocabulary=vocabulary), "auto").end_ids == (49000,)


@pytest.mark.parametrize("family", list(VOCABULARIES))
def test_forced_family_with_missing_tokens_falls_back_to_plain_with_a_warning(family):
    choice = choose_format(FakeGenerator(vocabulary={}), family)
    assert choice.name == "plain" and choice.end_ids == ()
    assert layout(choice, PREFIX, SUFFIX) == [BOS, *PREFIX]
    assert f"'{family}'" in choice.warning and "plain left context" in choice.warning
    assert all(token in choice.warning for token in FIM_SPELLINGS[family])


def test_warning_names_only_the_missing_tokens():
    vocabulary = {"<|fim_prefix|>": 7}
    choice = choose_format(FakeGenerator(vocabulary=vocabulary), "qwen")
    assert choice.name == "plain"
    assert "<|fim_suffix|>" in choice.warning and "<|fim_middle|>" in choice.warning
    assert "<|fim_prefix|>" not in choice.warning


def test_another_family_present_does_not_satisfy_a_forced_one():
    choice = choose_format(FakeGenerator(vocabulary=VOCABULARIES["qwen"]), "starcoder")
    assert choice.name == "plain" and "<fim_prefix>" in choice.warning


@pytest.mark.parametrize("requested", ["Auto", "llama", "", "codellama "])
def test_unknown_format_name_is_an_error(requested):
    with pytest.raises(ValueError, match="promptFormat"):
        choose_format(FakeGenerator(), requested)


@pytest.mark.parametrize("first, second", [
    ("codellama", "embedded"),
    ("embedded", "starcoder"),
    ("starcoder", "deepseek"),
    ("deepseek", "qwen"),
    ("codellama", "qwen"),
])
def test_auto_prefers_the_earlier_family_when_a_vocabulary_holds_two(first, second):
    # Different made-up ids per family, so a merged vocabulary has no clashes.
    vocabulary = {**VOCABULARIES[second], **VOCABULARIES[first]}
    assert choose_format(FakeGenerator(vocabulary=vocabulary), "auto").name == first
    # ... and the later one can still be named.
    assert choose_format(FakeGenerator(vocabulary=vocabulary), second).name == second


@dataclass
class SentencePieceLikeGenerator(FakeGenerator):
    """Like SentencePiece, prefixes every encoded text with the "▁" piece."""
    space_id: int = 29871

    def encode(self, text):
        return [self.space_id, *super().encode(text)]


def test_codellama_suffix_is_encoded_without_sentencepieces_leading_space():
    gen = SentencePieceLikeGenerator(vocabulary=VOCABULARIES["codellama"])
    choice = choose_format(gen, "auto")
    text = "    return x\n"
    assert gen.encode(text)[0] == gen.space_id
    assert encode_suffix(choice, gen, text) == FakeGenerator().encode(text)
    assert encode_suffix(choice, gen, "") == []


@pytest.mark.parametrize("family", ["embedded", "starcoder", "deepseek", "qwen"])
def test_other_families_encode_the_suffix_as_is(family):
    gen = SentencePieceLikeGenerator(vocabulary=VOCABULARIES[family])
    choice = choose_format(gen, "auto")
    assert encode_suffix(choice, gen, "x = 1") == gen.encode("x = 1")


def test_codellama_suffix_encoding_with_a_tokenizer_that_adds_no_space():
    gen = FakeGenerator(vocabulary=VOCABULARIES["codellama"])
    choice = choose_format(gen, "auto")
    assert encode_suffix(choice, gen, "abc") == gen.encode("abc")
