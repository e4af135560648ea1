"""`tandem prepare-draft`'s padding: a draft checkpoint grown to its target's vocabulary
(what vLLM's draft_model method demands), checked to propose exactly as before."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from models.draft_padding import PROVENANCE, PaddingError, pad_draft
from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET

STANDINS = Path(__file__).resolve().parents[2] / ".editor-tools" / "standins" / "test"


def weights(folder: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
        return {name: handle.get_tensor(name) for name in handle.keys()}


@pytest.fixture(scope="module")
def padded_embedded(tmp_path_factory):
    out = tmp_path_factory.mktemp("pad") / "padded draft"  # a space in the path
    return pad_draft(EMBEDDED_DRAFT, EMBEDDED_TARGET, out), out


def test_the_embedded_draft_grows_to_the_targets_ids_with_zero_rows(padded_embedded):
    result, out = padded_embedded
    assert (result.draft_vocab, result.target_vocab) == (8192, 8196)
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 8196
    before, after = weights(EMBEDDED_DRAFT), weights(out)
    embedding = after["model.embed_tokens.weight"]
    assert embedding.shape[0] == 8196 and embedding.dtype == before["model.embed_tokens.weight"].dtype
    assert torch.equal(embedding[:8192], before["model.embed_tokens.weight"])
    assert not embedding[8192:].any()
    for name, tensor in before.items():  # nothing else changed
        if name != "model.embed_tokens.weight":
            assert torch.equal(after[name], tensor), name


def test_the_padded_copy_proposes_as_the_original_and_carries_the_targets_tokenizer(padded_embedded):
    result, out = padded_embedded
    assert result.identical and result.max_logit_difference == 0.0 and result.positions_checked == 64
    assert result.lowest_top_logit > 0  # a padded id (logit 0) never won
    assert (out / "tokenizer.json").read_bytes() == (EMBEDDED_TARGET / "tokenizer.json").read_bytes()
    record = json.loads((out / PROVENANCE).read_text())
    assert record["identical"] and record["draft"] == str(EMBEDDED_DRAFT)


@pytest.mark.skipif(not (STANDINS / "draft").is_dir(), reason="no stand-ins: make standins")
def test_the_real_pairs_shapes_pad_from_32000_to_32016_ids(tmp_path):
    """The stand-ins carry the real LLaMA vocabulary: AMD-Llama-135M's 32000 ids and
    CodeLlama's 32016 (the 16 extra are its infilling and special tokens)."""
    result = pad_draft(STANDINS / "draft", STANDINS / "target", tmp_path / "out")
    assert (result.draft_vocab, result.target_vocab, result.identical) == (32000, 32016, True)
    out = weights(tmp_path / "out")
    heads = [name for name in out if name.endswith(("embed_tokens.weight", "lm_head.weight"))]
    assert heads and all(out[name].shape[0] == 32016 and not out[name][32000:].any() for name in heads)


def test_a_pair_of_equal_or_shrinking_vocabularies_is_refused(tmp_path):
    with pytest.raises(PaddingError, match="already have 8196 ids each"):
        pad_draft(EMBEDDED_TARGET, EMBEDDED_TARGET, tmp_path / "a")
    with pytest.raises(PaddingError, match="more ids"):
        pad_draft(EMBEDDED_TARGET, EMBEDDED_DRAFT, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_tokenizers_that_disagree_on_shared_ids_are_refused(tmp_path):
    target = tmp_path / "target"
    shutil.copytree(EMBEDDED_TARGET, target)
    spec = json.loads((target / "tokenizer.json").read_text())
    vocab = spec["model"]["vocab"]
    first, second = (next(piece for piece, i in vocab.items() if i == wanted) for wanted in (500, 501))
    vocab[first], vocab[second] = 501, 500  # two pieces trade ids
    (target / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(PaddingError, match="disagree on 2 of the draft's 8192 ids.*id 500"):
        pad_draft(EMBEDDED_DRAFT, target, tmp_path / "out")
    (target / "tokenizer.json").write_text("{not json")
    with pytest.raises(PaddingError, match="could not read the tokenizers"):
        pad_draft(EMBEDDED_DRAFT, target, tmp_path / "out")


def test_the_output_never_overlaps_the_sources_or_replaces_a_stranger_folder(tmp_path, padded_embedded):
    with pytest.raises(PaddingError, match="overlaps the draft"):
        pad_draft(EMBEDDED_DRAFT, EMBEDDED_TARGET, EMBEDDED_DRAFT / "padded")
    with pytest.raises(PaddingError, match="overlaps the target"):
        pad_draft(EMBEDDED_DRAFT, EMBEDDED_TARGET, EMBEDDED_TARGET)
    stranger = tmp_path / "notes"
    stranger.mkdir()
    (stranger / "keep.txt").write_text("mine")
    with pytest.raises(PaddingError, match="not empty and was not written by prepare-draft"):
        pad_draft(EMBEDDED_DRAFT, EMBEDDED_TARGET, stranger)
    assert (stranger / "keep.txt").read_text() == "mine"
    _, earlier = padded_embedded  # its own output is replaced without --force
    assert pad_draft(EMBEDDED_DRAFT, EMBEDDED_TARGET, earlier).identical
    assert pad_draft(EMBEDDED_DRAFT, EMBEDDED_TARGET, stranger, force=True).identical
    assert not (stranger / "keep.txt").exists()


def test_the_command_says_what_it_wrote_or_one_line_why_not(tmp_path):
    tandem = [sys.executable, "-m", "lsp_server.cli", "prepare-draft"]
    done = subprocess.run([*tandem, "--out", str(tmp_path / "with space")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "padded from 8192 to 8196 ids" in done.stdout and "propose exactly as the original" in done.stdout
    refused = subprocess.run([*tandem, "--draft", str(tmp_path / "missing"), "--out", str(tmp_path / "x")],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "draft model directory" in refused.stderr and "does not exist" in refused.stderr
