"""What quantized weights cost: two `tandem bench eval` runs of the same tasks (one with
float32 weights, one with, say, `--weights q8_0`) compared task by task.

    python -m bench.evaluation.agreement REFERENCE/results.jsonl OTHER/results.jsonl [--config target]

prints, for one configuration: the tasks both ran, how many suggestions are exactly the
reference's ("agreement"), and each run's pass@1 (tests passed / tasks with tests) and
exact match with the canonical text (`exact` in the records)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _records(path: Path, config: str) -> dict[str, dict]:
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {row["task"]: row for row in rows if row["config"] == config}


def _pass_at_1(rows: list[dict]) -> str:
    tested = [row for row in rows if row["outcome"] != "no tests"]
    return f"{sum(row['outcome'] == 'passed' for row in tested)}/{len(tested)}" if tested else "–"


def _exact(rows: list[dict]) -> str:
    known = [row for row in rows if "exact" in row]
    return f"{sum(bool(row['exact']) for row in known)}/{len(known)}" if known else "–"


def compare(reference: Path, other: Path, config: str = "target") -> str:
    ours, theirs = _records(reference, config), _records(other, config)
    tasks = sorted(ours.keys() & theirs.keys())
    if not tasks:
        return f"no task of configuration {config!r} is in both runs"
    same = sum(ours[task]["text"] == theirs[task]["text"] for task in tasks)
    return "\n".join([
        f"configuration {config}: {len(tasks)} tasks in both runs",
        f"agreement: {same}/{len(tasks)} suggestions identical ({same / len(tasks):.1%})",
        f"pass@1: {_pass_at_1([ours[t] for t in tasks])} ({reference.parent.name}) vs "
        f"{_pass_at_1([theirs[t] for t in tasks])} ({other.parent.name})",
        f"exact match: {_exact([ours[t] for t in tasks])} vs {_exact([theirs[t] for t in tasks])}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluation.agreement", description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("other", type=Path)
    parser.add_argument("--config", default="target")
    args = parser.parse_args(argv)
    print(compare(args.reference, args.other, args.config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
