"""`tandem bench eval`: build the task sets, run them (over LSP or direct), score them in the
sandbox, and write report.md, the plots and results.jsonl to the output folder.

The default task sets are HumanEval's four and `held-out` (one line hole in each of ~70
standard-library files the embedded models never saw; about 6 % more requests)."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import shlex
import sys
import time
from dataclasses import fields
from pathlib import Path

from bench.evaluation.configs import DEFAULT_MAX_NEW_TOKENS, eval_configs, evaluation_settings
from bench.evaluation.held_out import HELD_OUT, held_out_tasks
from bench.evaluation.metrics import lossless, table
from bench.evaluation.plots import write_plots
from bench.evaluation.report import RunInfo, models_dtype, target_lines, write_report
from bench.evaluation.runner import Attempt, run_direct, run_over_lsp
from bench.evaluation.scoring import Score, score_all
from bench.evaluation.tasks import TASK_SETS, DataError, build_task_sets, default_data_path, load_problems


def _fail(message: str, code: int = 2) -> int:
    print(f"tandem bench eval: {message}", file=sys.stderr)
    return code


def _choose(given: str | None, known: list[str], what: str) -> list[str]:
    if not given:
        return known
    chosen = [name.strip() for name in given.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
    return chosen


def run_eval(args: argparse.Namespace, settings: dict) -> int:
    if importlib.util.find_spec("matplotlib") is None:
        return _fail("the plots need matplotlib: pip install -e 'tooling[eval]'")
    if args.limit is not None and args.limit < 1:
        return _fail(f"--limit must be at least 1 (problems per task set), not {args.limit}")
    if not args.exec_timeout > 0:
        return _fail(f"--exec-timeout must be a positive number of seconds, not {args.exec_timeout:g}")
    data = args.data or default_data_path()
    try:
        problems = load_problems(data)
    except DataError as error:
        return _fail(str(error))
    configs = eval_configs(args.seed, settings.get("promptFormat", "auto"))
    try:
        task_sets = _choose(args.sets, [*TASK_SETS, HELD_OUT], "task set")
        names = _choose(args.configs, [c.name for c in configs], "configuration")
    except ValueError as error:
        return _fail(str(error))
    configs = [c for c in configs if c.name in names]
    tasks = build_task_sets(problems, args.seed, args.limit, tuple(s for s in task_sets if s != HELD_OUT))
    if HELD_OUT in task_sets:
        tasks += held_out_tasks(args.seed, args.limit)
    max_new_tokens = settings.get("maxNewTokens", DEFAULT_MAX_NEW_TOKENS)
    shared = {**{k: v for k, v in settings.items() if k not in ("promptFormat", "maxNewTokens")},
              **evaluation_settings(max_new_tokens)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    print(f"{len(tasks)} tasks × {len(configs)} configurations, {'direct' if args.direct else 'over LSP'}",
          file=sys.stderr)
    try:
        attempts, status = _run(args.direct, tasks, configs, shared)
    except (RuntimeError, ValueError) as error:
        return _fail(str(error), 1)
    print("running the completed programs' tests", file=sys.stderr)
    scores = score_all(attempts, args.exec_timeout)
    first_tested = next((task.task_set for task in tasks if task.tested), None)
    reference = score_all([Attempt("canonical", task, task.hole) for task in tasks
                           if task.task_set == first_tested], args.exec_timeout)

    rows = table(scores, [c.name for c in configs], task_sets)
    check = lossless(scores)
    _write_results(out / "results.jsonl", scores)
    plots = write_plots(out, scores, rows, [c.name for c in configs], task_sets)
    info = RunInfo(" ".join(["tandem", *map(shlex.quote, sys.argv[1:])]), "direct" if args.direct else "lsp",
                   status, data, len(problems), args.seed, args.limit, max_new_tokens, args.exec_timeout,
                   (sum(s.passed for s in reference), len(reference)), time.perf_counter() - started,
                   sum(task.task_set == HELD_OUT for task in tasks))
    report = write_report(out, info, rows, check, scores, configs, task_sets, plots)
    _print_summary(rows, check, models_dtype(status))
    print("targets (speculative, all task sets):", *target_lines(rows), sep="\n")
    print(f"report: {report}")
    return 0


def _run(direct: bool, tasks, configs, shared: dict) -> tuple[list[Attempt], dict]:
    if direct:
        from models.config import PairSpec
        spec = PairSpec(shared.get("draftModel", ""), shared.get("targetModel", ""), shared.get("device", "auto"),
                        shared.get("dtype", "auto"), shared.get("engine", "auto"))
        return run_direct(tasks, configs, spec, shared)
    server_args = [arg for option, key in (("--draft-model", "draftModel"), ("--target-model", "targetModel"),
                                           ("--device", "device"), ("--dtype", "dtype"), ("--engine", "engine"))
                   if shared.get(key)
                   for arg in (option, shared[key])]
    return asyncio.run(run_over_lsp(tasks, configs, server_args, shared))


def _write_results(path: Path, scores: list[Score]) -> None:
    with path.open("w", encoding="utf-8") as file:
        for s in scores:
            attempt = {f.name: getattr(s.attempt, f.name) for f in fields(Attempt) if f.name not in ("task", "decode")}
            attempt.update(s.attempt.decode.summary())
            record = {"task": s.attempt.task.name, **attempt, "hole": s.attempt.task.hole,
                      "outcome": s.outcome.status, "detail": s.outcome.detail, "exact": s.exact,
                      "syntaxValid": s.syntax_valid, "duplicatesSuffix": s.duplicates_suffix,
                      "compiles": s.compiles, "repetition": s.repetition}
            file.write(json.dumps(record, ensure_ascii=False) + "\n")


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _print_summary(rows, check, dtype: str) -> None:
    columns = ("answered", "decided", "pass@1", "exact", "valid", "syntax", "dup", "rep")
    print(f"{'task set':<13} {'configuration':<13} " + " ".join(f"{c:>8}" for c in columns)
          + f" {'p50 ms':>7} {'speedup':>8}")
    for r in rows:
        cells = (r.answered, r.answered_decided, r.pass_at_1, r.exact_match, r.shown_valid, r.syntax_valid,
                 r.duplicates_suffix, r.repetition)
        print(f"{r.task_set:<13} {r.config:<13} " + " ".join(f"{_cell(c):>8}" for c in cells)
              + f" {(r.latency_p50 or 0):>7.0f} {(f'{r.speedup:.2f}×' if r.speedup else '–'):>8}")
    if check is not None:
        divergence = f"{check.divergence:.1%}" if check.divergence is not None else "–"
        tested = check.pass_denominator
        print(f"lossless (greedy speculative = target alone): {check.identical}/{check.compared} identical, "
              f"divergence {divergence} in {dtype}, pass@1 {check.pass_speculative}/{tested} speculative "
              f"vs {check.pass_target}/{tested} target alone: {'yes' if check.holds else 'NO'}")
