"""`tandem complete` and `tandem doctor` as a user runs them."""

import json
import subprocess
import sys

from tests.conftest import ROOT

DEMO = ROOT / "examples" / "demo.py"


def tandem(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lsp_server", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_complete_prints_the_completion_and_its_stats(tmp_path):
    # "return json." typed in the demo's `with` body: the embedded model writes valid Python there.
    typed = tmp_path / "typed.py"
    typed.write_text(DEMO.read_text().rstrip() + "\n        return json.\n")
    run = tandem("complete", str(typed), "--line", "9", "--character", "20", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["completion"].strip()
    assert result["request"]["newTokens"] > 0 and result["request"]["promptFormat"] == "embedded"
    assert result["models"]["target"]["path"].endswith("models/embedded/target")


# HumanEval/23's prompt (MIT), where each of the embedded model's three candidates for the
# body is Python that does not parse.
STRLEN = ('\n\ndef strlen(string: str) -> int:\n    """ Return length of given string\n    >>> strlen(\'\')\n'
          '    0\n    >>> strlen(\'abc\')\n    3\n    """\n    ')


def test_complete_says_when_the_models_text_was_dropped_as_invalid(tmp_path):
    source = tmp_path / "strlen.py"
    source.write_text(STRLEN)
    run = tandem("complete", str(source), "--line", "9", "--character", "4", "--time-budget-ms", "0")
    assert run.returncode == 0, run.stderr
    assert "tokens in 3 candidates that did not leave valid Python, so the server showed nothing" in run.stdout


def test_complete_where_the_server_declines_says_why():
    run = tandem("complete", str(DEMO), "--line", "2", "--character", "3")  # inside a word
    assert run.returncode == 0, run.stderr
    assert "(nothing to suggest here)" in run.stdout and "no completion here: mid-identifier" in run.stdout


def test_complete_reports_bad_positions_and_files_clearly():
    run = tandem("complete", str(DEMO), "--line", "500", "--character", "0")
    assert run.returncode == 2 and "line 500 is past the end of the document" in run.stderr
    assert "Traceback" not in run.stderr
    run = tandem("complete", "does/not/exist.py", "--line", "0", "--character", "0")
    assert run.returncode == 2 and "is not a file" in run.stderr


def test_complete_with_an_unusable_model_directory(tmp_path):
    run = tandem("complete", str(DEMO), "--line", "9", "--character", "8", "--target-model", str(tmp_path))
    assert run.returncode == 1 and "not a transformers checkpoint (no config.json)" in run.stderr
    assert "Traceback" not in run.stderr


def test_doctor_explains_the_placement():
    run = tandem("doctor")
    assert run.returncode == 0, run.stdout
    assert "placement" in run.stdout and "target model" in run.stdout
    # What loading checks before reading weights, checked alike.
    assert "tokenizers         ok: draft matches the target" in run.stdout
    assert "prompt family      embedded" in run.stdout and "memory             ok: needs about" in run.stdout


def test_doctor_fails_on_a_draft_whose_tokenizer_is_not_the_targets():
    # The pair swapped: a draft with more ids (the FIM tokens) than its target is refused.
    from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET
    run = tandem("doctor", "--draft-model", str(EMBEDDED_TARGET), "--target-model", str(EMBEDDED_DRAFT))
    assert run.returncode == 1, run.stdout
    assert "tokenizers         FAIL: draft tokenizer has 8196 tokens, more than the target's 8192" in run.stdout
