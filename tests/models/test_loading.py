import json

import pytest
import torch

from models.devices import resolve_placement
from models.errors import ModelLoadError, TokenizerMismatchError
from models.loading import check_tokenizers_match, load_checkpoint
from models.config import PairSpec
from models.pair import ModelPair
from tests.conftest import save_tiny_checkpoint

CPU = resolve_placement("cpu", "float32")


def test_tiny_checkpoint_loads_with_its_tokenizer(tiny_pair):
    draft_dir, target_dir = tiny_pair
    target = load_checkpoint("target", target_dir, CPU)
    assert target.vocab_size == len(target.tokenizer) == 304
    assert target.context_window == 256
    assert target.model.dtype == torch.float32 and not target.model.training
    ids = target.tokenizer.encode("def add(a, b):", add_special_tokens=False)
    assert target.tokenizer.decode(ids) == "def add(a, b):"


def test_pair_loads_from_settings_and_checks_tokenizers(tiny_pair):
    draft_dir, target_dir = tiny_pair
    pair = ModelPair.load(PairSpec(str(draft_dir), str(target_dir), "cpu", "float32"))
    assert pair.draft.vocab_size == 300 and pair.target.vocab_size == 304
    assert pair.token_id("<PRE>") == 300 and pair.token_id("<EOT>") == 303
    assert pair.decode(pair.encode("x = 1")) == "x = 1"


def test_missing_directory(tmp_path):
    with pytest.raises(ModelLoadError, match="target model directory '.*nope' does not exist"):
        load_checkpoint("target", tmp_path / "nope", CPU)


def test_directory_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelLoadError, match=r"not a transformers checkpoint \(no config.json\)"):
        load_checkpoint("target", tmp_path, CPU)


def test_checkpoint_without_safetensors(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ModelLoadError, match="no .safetensors weights"):
        load_checkpoint("draft", tmp_path, CPU)


def test_broken_checkpoint_gives_one_line(tmp_path, tiny_pair):
    directory = save_tiny_checkpoint(tmp_path / "broken", fim=False)
    (directory / "model.safetensors").write_bytes(b"not really weights")
    with pytest.raises(ModelLoadError, match="draft model in .* failed to load") as error:
        load_checkpoint("draft", directory, CPU)
    assert "\n" not in str(error.value)


def test_draft_with_a_different_tokenizer_is_refused(tmp_path, tiny_pair):
    _, target_dir = tiny_pair
    other = save_tiny_checkpoint(tmp_path / "other", fim=False,
                                 corpus=["SELECT name FROM users WHERE id = 1;\n"] * 50)
    draft = load_checkpoint("draft", other, CPU)
    target = load_checkpoint("target", target_dir, CPU)
    with pytest.raises(TokenizerMismatchError, match=r"does not match the target's \(.*\): id \d+ is"):
        check_tokenizers_match(draft, target)


def test_out_of_memory_on_load_names_the_model_and_the_memory_it_needs(monkeypatch, tiny_pair):
    from transformers import AutoModelForCausalLM

    def too_big(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 13.50 GiB")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", too_big)
    with pytest.raises(ModelLoadError) as error:
        load_checkpoint("target", tiny_pair[1], resolve_placement("cpu", "float32"))
    message = str(error.value)
    assert f"target model in '{tiny_pair[1]}' does not fit in memory on cpu" in message
    assert "GiB in float32, plus the KV cache" in message and "GiB free there now" in message
