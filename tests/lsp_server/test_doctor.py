"""`tandem doctor` checks what loading will check: the tokenizers of the pair, the prompt
family found in the target's vocabulary, the memory needed against what is free; it exits
non-zero where loading would refuse."""

from __future__ import annotations

import pytest

from lsp_server.doctor import run_doctor
from models import preflight
from models.engines import llamacpp_backend
from models.preflight import GiB
from tests.conftest import save_tiny_checkpoint
from tests.models.test_loading_preflight import seven_b_pair  # noqa: F401 (a fixture)


# What the memory line names for the embedded pair on a CPU with engine auto.
AUTO_CPU_WEIGHTS = "at f32 GGUF on cpu" if llamacpp_backend.available() else "at float32 on cpu"


def doctor(capsys, **settings) -> tuple[int, dict[str, str]]:
    code = run_doctor({"device": "cpu", **settings})
    lines = capsys.readouterr().out.splitlines()
    return code, {line[:18].strip(): line[19:] for line in lines}


def free(monkeypatch, gib: float) -> None:
    monkeypatch.setattr(preflight, "free_memory", lambda device: (int(gib * GiB), "test"))


def test_the_embedded_pair_passes_every_check(capsys):
    code, lines = doctor(capsys)
    assert code == 0, lines
    assert lines["tokenizers"].startswith("ok: draft matches the target: its 8192 ids")
    assert lines["prompt family"].startswith("embedded (promptFormat auto: the target has <PRE>, <SUF>, <MID>")
    assert lines["memory"].startswith("ok: needs about") and AUTO_CPU_WEIGHTS in lines["memory"]


def test_a_draft_with_another_tokenizer_fails_the_doctor(capsys, tmp_path):
    other = save_tiny_checkpoint(tmp_path / "sql-draft", fim=False,
                                 corpus=["SELECT name FROM users WHERE id = 1;\n"] * 50)
    code, lines = doctor(capsys, draftModel=str(other))
    assert code == 1
    assert lines["tokenizers"].startswith(f"FAIL: draft tokenizer ('{other}') does not match the target's")


def test_a_named_family_the_target_lacks_says_plain_and_an_unknown_one_fails(capsys):
    code, lines = doctor(capsys, promptFormat="starcoder")
    assert code == 0 and lines["prompt family"].startswith("plain (promptFormat starcoder: ")
    code, lines = doctor(capsys, promptFormat="gpt")
    assert code == 1 and lines["prompt family"].startswith("FAIL: unknown promptFormat 'gpt'")


def test_a_7b_target_in_float32_does_not_fit_in_20_gib_and_the_doctor_says_bfloat16(
        capsys, monkeypatch, seven_b_pair):  # noqa: F811
    draft, target = seven_b_pair
    free(monkeypatch, 20)
    models = {"draftModel": str(draft), "targetModel": str(target), "engine": "transformers"}
    code, lines = doctor(capsys, **models)
    assert code == 1 and lines["tokenizers"].startswith("ok:")
    assert lines["memory"].startswith("FAIL: the models would not fit")
    assert "needs about 29.0 GiB at float32" in lines["memory"]
    assert "set dtype bfloat16 (needs about 14.5 GiB, which fits)" in lines["memory"]
    code, lines = doctor(capsys, **models, dtype="bfloat16")
    assert code == 0 and lines["memory"].startswith("ok: needs about 14.5 GiB at bfloat16 on cpu")


@pytest.mark.skipif(not llamacpp_backend.available(), reason="needs llama-cpp-python (make llamacpp)")
def test_on_llamacpp_a_7b_target_is_q8_0_and_a_smaller_memory_is_told_the_4_bit_weights(
        capsys, monkeypatch, seven_b_pair):  # noqa: F811
    draft, target = seven_b_pair
    free(monkeypatch, 20)
    code, lines = doctor(capsys, draftModel=str(draft), targetModel=str(target))
    assert code == 0 and lines["engine"].startswith("llamacpp (setting engine=auto on the CPU: llama.cpp")
    assert lines["memory"].startswith("ok: needs about 9.7 GiB at q8_0 GGUF/f32 GGUF on cpu")
    free(monkeypatch, 8)
    code, lines = doctor(capsys, draftModel=str(draft), targetModel=str(target))
    assert code == 1 and "set weights q4_k_m (needs about 6.5 GiB, which fits)" in lines["memory"]
    assert "set weights q8_0" not in lines["memory"]  # what it has already


@pytest.mark.parametrize("missing", ["draftModel", "targetModel"])
def test_a_missing_model_directory_fails_without_the_later_checks(capsys, tmp_path, missing):
    code, lines = doctor(capsys, **{missing: str(tmp_path / "nope")})
    assert code == 1 and "does not exist" in lines[f"{missing.removesuffix('Model')} model"]
    assert "tokenizers" not in lines and "memory" not in lines


def test_an_unusable_device_fails_but_the_tokenizers_are_still_compared(capsys):
    code, lines = doctor(capsys, device="npu")
    assert code == 1 and lines["placement"].startswith("unusable:")
    assert lines["tokenizers"] == "ok: draft matches the target" and "memory" not in lines


def test_the_stand_in_pair_passes_and_the_doctor_finds_codellamas_layout(capsys, standins):
    """Real LLaMA-2 / CodeLlama vocabularies (tooling/standins): the family comes from the
    server's own pair, which keeps CodeLlama's fill token "<FILL_ME>" as text."""
    code, lines = doctor(capsys, draftModel=str(standins.draft), targetModel=str(standins.target))
    assert code == 0, lines
    assert lines["tokenizers"].startswith("ok: draft matches the target: its 32000 ids")
    assert lines["prompt family"] == ("codellama (promptFormat auto: the target has ▁<PRE>, ▁<SUF>, ▁<MID>; "
                                      "prefix, suffix, middle)")
    assert lines["memory"].startswith("ok: needs about") and AUTO_CPU_WEIGHTS in lines["memory"]


def test_the_doctor_encodes_text_that_spells_the_fill_token_as_text(standins):
    from lsp_server.doctor import _as_the_server_sees_it
    from models.preflight import load_tokenizer

    vocabulary = _as_the_server_sees_it(load_tokenizer("target", standins.target))
    before = vocabulary.encode("  x = 1")
    ids = vocabulary.encode("a = 1  # <FILL_ME>\nb = 2\n")
    assert ids and max(ids) < 32000  # no ▁<PRE>/▁<SUF>/▁<MID> (32007..32009), no <FILL_ME> (32016)
    assert vocabulary.encode("  x = 1") == before  # the tokenizer is left as it was
