"""Loading never surprises: before any weights are read, the pair's tokenizers are compared
and the memory it needs is checked against what is free, with what to do instead."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from models import preflight
from models.config import PairSpec
from models.engines import llamacpp_backend
from models.errors import NotEnoughMemoryError, TokenizerMismatchError
from models.pair import ModelPair
from models.preflight import GiB, check_memory, host_free_memory, model_need
from tests.conftest import save_tiny_checkpoint

# CodeLlama-7B's and AMD-Llama-135M's dimensions (their public config.json files).
CODELLAMA_7B = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32016,
                "max_position_embeddings": 16384, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
AMD_135M = {"model_type": "llama", "hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 12,
            "num_attention_heads": 12, "num_key_value_heads": 12, "vocab_size": 32000,
            "max_position_embeddings": 2048, "tie_word_embeddings": False, "torch_dtype": "float32"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def headers_only(directory: Path, config: dict, dtype: str = "BF16") -> Path:
    """A checkpoint of `config`'s dimensions whose model.safetensors holds the header and no
    data: counting works, reading a weight fails."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    hidden, ffn, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    shapes = {"model.embed_tokens.weight": [vocab, hidden], "lm_head.weight": [vocab, hidden],
              "model.norm.weight": [hidden]}
    for layer in range(config["num_hidden_layers"]):
        at = f"model.layers.{layer}."
        shapes.update({at + f"self_attn.{p}_proj.weight": [hidden, hidden] for p in "qkvo"})
        shapes.update({at + "mlp.gate_proj.weight": [ffn, hidden], at + "mlp.up_proj.weight": [ffn, hidden],
                       at + "mlp.down_proj.weight": [hidden, ffn], at + "input_layernorm.weight": [hidden],
                       at + "post_attention_layernorm.weight": [hidden]})
    header, offset = {}, 0
    for name, shape in shapes.items():
        size = 2 * shape[0] * (shape[1] if len(shape) > 1 else 1)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header).encode()
    (directory / "model.safetensors").write_bytes(struct.pack("<Q", len(blob)) + blob)
    return directory


@pytest.fixture
def seven_b_pair(tmp_path, tiny_pair) -> tuple[Path, Path]:
    """(draft, target) with AMD-Llama-135M's and CodeLlama-7B's sizes (headers only) and the
    tiny pair's matching tokenizers."""
    draft = headers_only(tmp_path / "amd-135m", AMD_135M)
    target = headers_only(tmp_path / "codellama-7b", CODELLAMA_7B)
    for source, directory in zip(tiny_pair, (draft, target)):
        for name in TOKENIZER_FILES:
            shutil.copy(source / name, directory / name)
    return draft, target


@pytest.fixture
def weights_read(monkeypatch) -> list:
    """Every attempt to read a model's weights, refused."""
    from transformers import AutoModelForCausalLM

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("weights were read")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", refuse)
    return attempts


def free(monkeypatch, gib: float) -> None:
    monkeypatch.setattr(preflight, "free_memory", lambda device: (int(gib * GiB), "test"))


def test_codellama_7b_needs_25_gib_of_weights_in_float32_and_half_in_bfloat16(tmp_path):
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    (config_only / "config.json").write_text(json.dumps(CODELLAMA_7B))
    from_config = model_need("target", config_only, "float32")
    from_headers = model_need("target", headers_only(tmp_path / "headers", CODELLAMA_7B), "float32")
    assert from_config.parameters == from_headers.parameters == 6_738_546_688
    assert (from_config.counted_from, from_headers.counted_from) == ("config.json", "safetensors headers")
    assert round(from_headers.weights / GiB, 1) == 25.1
    assert round(model_need("target", config_only, "bfloat16").weights / GiB, 1) == 12.6
    # Keys and values: 2 × 32 layers × 4096 × 2048 positions × 4 bytes.
    assert from_config.kv_cache == 2 * 32 * 4096 * 2048 * 4 and from_config.kv_tokens == 2048


def test_headers_and_config_count_a_real_checkpoint_alike(tiny_pair):
    _, target = tiny_pair
    from models.preflight import _config, _count_from_config, _count_safetensors
    assert _count_safetensors(target, 4)[0] == _count_from_config(_config(target))


def test_a_float32_load_that_does_not_fit_is_refused_before_reading_weights_and_suggests_bfloat16(
        monkeypatch, seven_b_pair, weights_read):
    draft, target = seven_b_pair
    free(monkeypatch, 20)
    with pytest.raises(NotEnoughMemoryError) as error:
        ModelPair.load(PairSpec(str(draft), str(target), "cpu", "auto", "transformers"))
    message = str(error.value)
    assert "needs about 29.0 GiB at float32 on cpu (weights: target 25.1 GiB, draft 512 MiB" in message
    assert "20.0 GiB free" in message and "set dtype bfloat16 (needs about 14.5 GiB, which fits)" in message
    assert "smaller or quantized target" in message and weights_read == []


def test_the_same_pair_in_bfloat16_passes_the_check_and_goes_on_to_read_weights(monkeypatch, seven_b_pair,
                                                                                 weights_read):
    draft, target = seven_b_pair
    free(monkeypatch, 20)
    with pytest.raises(Exception, match="failed to load: weights were read"):
        ModelPair.load(PairSpec(str(draft), str(target), "cpu", "bfloat16", "transformers"))
    assert len(weights_read) == 1


@pytest.mark.skipif(not llamacpp_backend.available(), reason="needs llama-cpp-python (make llamacpp)")
def test_on_llamacpp_a_7b_pair_that_does_not_fit_is_refused_before_any_gguf_is_written(
        monkeypatch, seven_b_pair, weights_read, tmp_path):
    """The headers-only files would fail any read: the refusal comes from the sizes alone."""
    draft, target = seven_b_pair
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    free(monkeypatch, 8)
    with pytest.raises(NotEnoughMemoryError) as error:
        ModelPair.load(PairSpec(str(draft), str(target), "cpu", "auto"))
    message = str(error.value)
    assert "needs about 9.7 GiB at q8_0 GGUF/f32 GGUF on cpu (weights: target 6.7 GiB" in message
    assert "set weights q4_k_m (needs about 6.5 GiB, which fits)" in message
    assert weights_read == [] and not (tmp_path / "cache").exists()


def test_a_mismatched_draft_is_refused_before_any_weights_are_read(tmp_path, tiny_pair, weights_read):
    other = save_tiny_checkpoint(tmp_path / "sql-draft", fim=False,
                                 corpus=["SELECT name FROM users WHERE id = 1;\n"] * 50)
    (other / "model.safetensors").write_bytes(b"not really weights")  # unreadable, and never read
    with pytest.raises(TokenizerMismatchError, match=r"does not match the target's \(.*\): id \d+ is"):
        ModelPair.load(PairSpec(str(other), str(tiny_pair[1]), "cpu", "float32"))
    assert weights_read == []


def test_free_host_memory_is_the_smaller_of_memavailable_and_the_cgroup_limit(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal: {64 * 2**20} kB\nMemAvailable: {20 * 2**20} kB\n")
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    assert host_free_memory(meminfo, cgroup) == (20 * GiB, "MemAvailable")
    (cgroup / "memory.max").write_text(f"{8 * GiB}\n")
    (cgroup / "memory.current").write_text(f"{6 * GiB}\n")
    (cgroup / "memory.stat").write_text(f"anon {5 * GiB}\ninactive_file {1 * GiB}\n")
    assert host_free_memory(meminfo, cgroup) == (3 * GiB, "cgroup memory.max")  # page cache counts as free
    (cgroup / "memory.max").write_text("max\n")
    assert host_free_memory(meminfo, cgroup) == (20 * GiB, "MemAvailable")


def test_the_embedded_pair_fits_and_says_what_it_needs(monkeypatch):
    from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET
    check = check_memory(EMBEDDED_DRAFT, EMBEDDED_TARGET, "cpu", "float32", free=8 * GiB)
    assert check.problem is None and check.total < GiB
    assert check.describe().startswith("needs about") and "8.0 GiB free (given)" in check.describe()
