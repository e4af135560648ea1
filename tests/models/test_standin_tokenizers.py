"""The stand-in pair (tooling/standins) carries the real LLaMA-2 / CodeLlama vocabularies:
here they give LLaMA's known ids, load as the real checkpoints do under transformers 5, pass
and fail the preflight as the real pair would, and Tandem's prompt ids for them match the
layout CodeLlama was trained on (Meta's infilling_prompt_tokens, SentencePiece encoding)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from completion.context import build_context
from completion.crossfile import Snippet
from completion.cursor import cursor_context
from completion.formats import choose_format, encode_suffix
from completion.prompt import build_prompt
from models.config import PairSpec
from models.errors import TokenizerMismatchError
from models.loading import LoadedModel
from models.pair import ModelPair
from models.preflight import check_tokenizers, load_tokenizer, model_need
from standins.shapes import AMD_LLAMA_135M_PARAMETERS, CODELLAMA_7B, parameter_count, target_config
from standins.vocabulary import CODELLAMA_EXTRA_PIECES
from tests.standin_reference import (BOS, EOT, MID, PRE, SUF, foreign_draft, meta_infilling_prompt,  # noqa: F401
                                     sentencepiece)


@pytest.fixture(scope="module")
def tokenizers(standins):
    """(draft, target) tokenizers, loaded as Tandem loads them."""
    return load_tokenizer("draft", standins.draft), load_tokenizer("target", standins.target)


def pair_without_weights(standins) -> ModelPair:
    """A ModelPair over the stand-ins' tokenizers, without weights: its encode/token_id are
    the ones the completion layer calls."""
    def loaded(role: str, path: Path, rows: int, window: int) -> LoadedModel:
        return LoadedModel(role, path, model=None, tokenizer=load_tokenizer(role, path), placement=None,
                           vocab_size=rows, context_window=window, load_seconds=0.0)

    return ModelPair(loaded("draft", standins.draft, 32000, 2048), loaded("target", standins.target, 32016, 16384))


@pytest.fixture(scope="module")
def pair(standins) -> ModelPair:
    return pair_without_weights(standins)


# -- the vocabularies --------------------------------------------------------------------------
def test_the_draft_tokenizer_gives_llamas_known_ids(tokenizers):
    draft, _ = tokenizers
    assert type(draft).__name__ == "LlamaTokenizer" and len(draft) == 32000
    assert draft.encode("Hello world!") == [1, 15043, 3186, 29991]
    assert draft.encode("This is a test") == [1, 910, 338, 263, 1243]
    assert draft.convert_tokens_to_ids(["▁def", "▁return", "<0x0A>"]) == [822, 736, 13]
    assert (draft.unk_token_id, draft.bos_token_id, draft.eos_token_id) == (0, 1, 2)


def test_codellama_adds_sixteen_pieces_of_which_the_four_infilling_ones_are_special(tokenizers):
    draft, target = tokenizers
    assert type(target).__name__ == "CodeLlamaTokenizer"
    by_id = {index: piece for piece, index in target.get_vocab().items()}
    assert [by_id[i] for i in range(32000, 32016)] == list(CODELLAMA_EXTRA_PIECES)
    assert all(by_id[index] == piece for piece, index in draft.get_vocab().items())  # the 32,000 shared
    infill = target.convert_tokens_to_ids(["▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"])
    assert infill == [PRE, SUF, MID, EOT]
    assert (target.prefix_id, target.suffix_id, target.middle_id, target.eot_id) == (PRE, SUF, MID, EOT)
    assert set(infill) <= set(target.all_special_ids)
    assert not set(range(32000, 32007)) & set(target.all_special_ids)  # the partial pieces are ordinary


def test_fill_me_is_one_id_past_the_models_rows_as_with_a_real_codellama_directory(standins, tokenizers):
    """Chosen behaviour: the stand-in's tokenizer_config names fill_token "<FILL_ME>", as
    codellama/CodeLlama-7b-hf's does, so transformers 5 adds it as id 32016, one past the
    32,016 embedding rows. Tandem never produces it (next test)."""
    _, target = tokenizers
    rows = json.loads((standins.target / "config.json").read_text())["vocab_size"]
    assert rows == 32016
    assert target.convert_tokens_to_ids("<FILL_ME>") == rows and len(target) == rows + 1


@pytest.mark.parametrize("text", ["<PRE>", "▁<PRE>", " <PRE> x", "▁<SUF>▁<MID>", "<s>", "</s>x", "<unk>",
                                  "<FILL_ME>", "a = 1  # <FILL_ME>\nb = 2\n", "<EOT>"])
def test_user_text_that_spells_control_tokens_stays_text(pair, text):
    ids = pair.encode(text)
    assert ids and max(ids) < 32000 and not {0, 1, 2} & set(ids)
    assert pair.decode(ids).lstrip() == text.replace("▁", " ").lstrip()


def test_a_buffer_with_fill_me_leaves_the_tokenizer_as_it_was(standins):
    """CodeLlamaTokenizer turns text holding its fill token into an infilling prompt and
    rebuilds its normalizer afterwards; Tandem's encode must do neither."""
    pair = pair_without_weights(standins)  # its own: a failure here must not spill into other tests
    before = pair.encode("  x = 1")
    pair.encode("# <FILL_ME>\n")
    assert pair.encode("  x = 1") == before


# -- the shapes --------------------------------------------------------------------------------
def test_the_draft_has_amd_llama_135m_exact_parameter_count(standins):
    config = json.loads((standins.draft / "config.json").read_text())
    assert parameter_count(config) == AMD_LLAMA_135M_PARAMETERS == 134_105_856
    assert model_need("draft", standins.draft, "float32").parameters == 134_105_856  # the safetensors headers


def test_the_target_keeps_codellama_7bs_vocabulary_heads_rope_and_positions(standins):
    config = json.loads((standins.target / "config.json").read_text())
    kept = {key: CODELLAMA_7B[key] for key in ("vocab_size", "head_dim", "rope_theta", "max_position_embeddings")}
    assert {key: config[key] for key in kept} == kept == {"vocab_size": 32016, "head_dim": 128,
                                                          "rope_theta": 1e6, "max_position_embeddings": 16384}
    assert parameter_count(CODELLAMA_7B) == 6_738_546_688  # CodeLlama-7B's published size
    wide = target_config("wide")
    assert (wide["hidden_size"], wide["intermediate_size"], wide["num_hidden_layers"]) == (4096, 11008, 2)


@pytest.mark.parametrize("role", ["draft", "target"])
def test_each_stand_in_loads_as_a_checkpoint_and_float32_holds_its_bfloat16_weights_exactly(standins, role):
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    directory = getattr(standins, role)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    with safe_open(directory / "model.safetensors", "pt") as stored:
        embedding = stored.get_tensor("model.embed_tokens.weight")
    assert embedding.dtype == torch.bfloat16
    assert torch.equal(model.get_input_embeddings().weight, embedding.float())
    assert sum(p.numel() for p in model.parameters()) == parameter_count(model.config.to_dict())


# -- the preflight -----------------------------------------------------------------------------
def test_the_preflight_accepts_the_draft_for_the_codellama_target(standins, tokenizers):
    summary = check_tokenizers(*tokenizers, standins.draft, standins.target)
    assert "its 32000 ids" in summary and "BOS 1 / EOS 2" in summary


def test_a_draft_with_two_pieces_swapped_is_refused_at_the_first_differing_id(standins, tokenizers, tmp_path):
    foreign = foreign_draft(standins, tmp_path / "foreign", (5000, 5001))
    with pytest.raises(TokenizerMismatchError, match=r"id 5000 is '.+' for the draft but '.+' for the target"):
        check_tokenizers(load_tokenizer("draft", foreign), tokenizers[1], foreign, standins.target)


def test_loading_refuses_the_foreign_draft_before_reading_its_corrupt_weights(standins, tmp_path):
    foreign = foreign_draft(standins, tmp_path / "foreign", (5000, 5001))
    with pytest.raises(TokenizerMismatchError, match="id 5000"):
        ModelPair.load(PairSpec(str(foreign), str(standins.target), "cpu", "float32", "transformers"))


# -- prompts as CodeLlama was trained on them --------------------------------------------------
def test_the_reference_encoder_writes_sentencepieces_dummy_prefix(sentencepiece, tokenizers):
    assert sentencepiece(" Hello") == [29871, 15043]
    assert sentencepiece("Hello world!") == [15043, 3186, 29991]
    assert sentencepiece("") == []
    assert sentencepiece("☺x")[:2] == [29871, 31171]  # what encode_infilling's [2:] drops
    # transformers 5's Metaspace(prepend_scheme="first") writes no dummy prefix here:
    assert tokenizers[1].encode(" Hello", add_special_tokens=False) == [15043]


def tandem_prompt(pair: ModelPair, prefix: str, suffix: str, snippets=()):
    """The prompt CompletionService.complete builds for this cursor, wired as it wires it."""
    choice = choose_format(pair, "auto")
    assert choice.name == "codellama"
    context = cursor_context(prefix + suffix, len(prefix))
    window = build_context(context.prefix, context.suffix, 4096 - choice.reserved, pair.encode,
                           lambda text: encode_suffix(choice, pair, text), snippets=snippets,
                           use_suffix=choice.is_fim)
    return build_prompt(choice, window, 2048)


PREFIXES = ["def f(x):\n    return x", "    return x", "  y = 1\nz", "\tpass\n", "\n\nimport os\n", "é = 1\n",
            "  ", "", "x = ('▁', 1)\n"]
SUFFIXES = [" + 1\n", "  # two spaces\n", "\tpass\n", "\nprint(x)\n", "é\n", "", "▁x\n"]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_prefix_and_suffix_ids_match_metas_infilling_layout(pair, sentencepiece, prefix, suffix):
    prompt = tandem_prompt(pair, prefix, suffix)
    assert list(prompt.ids) == meta_infilling_prompt(sentencepiece, prefix, suffix)
    assert list(prompt.draft_ids) == [BOS, *sentencepiece(prefix)]  # the draft reads the same left context


@pytest.mark.parametrize("prefix", ["    return x", "import lib\n\nlib.helper(", "\tx"])
def test_cross_file_snippets_and_the_prefix_after_them_match_one_sentencepiece_encoding(pair, sentencepiece,
                                                                                      prefix):
    snippet = Snippet("lib.py:helper", "# lib.py\n# def helper(x: int) -> int:\n")
    prompt = tandem_prompt(pair, prefix, "\nx = 1\n", snippets=[snippet])
    assert list(prompt.ids) == meta_infilling_prompt(sentencepiece, snippet.text + prefix, "\nx = 1\n")
    assert list(prompt.draft_ids) == [BOS, *sentencepiece(snippet.text + prefix)]
