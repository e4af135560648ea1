"""Score one attempt: apply the suggestion as the editor would, then judge the program —
exact match, tree-sitter syntax, whether CPython compiles it, suffix duplication,
degenerate repetition, and its tests run in the sandbox (where the task has tests)."""

from __future__ import annotations

import logging
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from completion.syntax import count_errors, parse
from bench.evaluation.degenerate import degenerate
from bench.evaluation.runner import Attempt
from bench.evaluation.sandbox import FAILED, Outcome, program_with_tests, run_program

log = logging.getLogger(__name__)

NO_TESTS = "no tests"  # an outcome: the task has no tests to run (the held-out set)
_WARNINGS = threading.Lock()  # warnings.catch_warnings is process state; scoring runs in threads


@dataclass(frozen=True)
class Score:
    attempt: Attempt
    outcome: Outcome
    exact: bool
    syntax_valid: bool
    duplicates_suffix: bool
    compiles: bool = False  # CPython compiles the completed file
    repetition: str = ""    # the kind of degenerate repetition the suggestion holds (degenerate.py)

    @property
    def passed(self) -> bool:
        return self.outcome.passed


def completed_program(attempt: Attempt) -> str:
    task = attempt.task
    return task.prefix + attempt.text + task.suffix[attempt.replace_chars:]


def compiles(program: str) -> bool:
    """CPython compiles `program` (as a module: what the file would be once accepted)."""
    try:
        with _WARNINGS, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are still compiled programs
            compile(program, "<eval>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: null bytes, surrogates
        return False
    return True


def _normalised(program: str) -> str:
    return "\n".join(line.rstrip() for line in program.rstrip().splitlines())


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def duplicates_suffix(text: str, suffix: str, hole: str = "") -> bool:
    """The suggestion repeats what follows it: it ends with the rest of the cursor's line,
    or its last line is the suffix's next non-blank line. Where the original `hole` ends
    that way too (`x)` before `)`), only a repetition twice over counts."""
    if not text.strip():
        return False
    line_tail, _, below = suffix.partition("\n")
    if line_tail.strip():
        tail = line_tail.strip()
        twice = hole.rstrip().endswith(tail)
        return text.rstrip().endswith(tail + tail if twice else tail)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    following = _first_line(below)
    hole_lines = [line.strip() for line in hole.splitlines() if line.strip()]
    if hole_lines and hole_lines[-1] == following:
        return lines[-2:] == [following, following]
    return lines[-1] == following


def score(attempt: Attempt, timeout: float) -> Score:
    task, program = attempt.task, completed_program(attempt)
    outcome = (run_program(program_with_tests(program, task.problem.test, task.problem.entry_point), timeout)
               if task.tested else Outcome(NO_TESTS, "", 0.0))
    line_prefix = task.prefix[task.prefix.rfind("\n") + 1:]
    return Score(attempt, outcome, _normalised(program) == _normalised(task.problem.program),
                 count_errors(parse(program.encode("utf-8", "surrogatepass")).root_node) == 0,
                 duplicates_suffix(attempt.text, task.suffix[attempt.replace_chars:], task.hole),
                 compiles(program), degenerate(attempt.text, line_prefix))


def _score_or_error(attempt: Attempt, timeout: float) -> Score:
    """One attempt that cannot be scored (no process to start, a full disk) is a failed
    one with the reason, never the end of a run whose generations took an hour."""
    try:
        return score(attempt, timeout)
    except Exception as error:
        log.exception("scoring %s failed", attempt.task.name)
        return Score(attempt, Outcome(FAILED, f"not scored: {type(error).__name__}: {error}", 0.0),
                     False, False, False)


def score_all(attempts: list[Attempt], timeout: float, workers: int = 2) -> list[Score]:
    """Programs run `workers` at a time (each is its own process)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda attempt: _score_or_error(attempt, timeout), attempts))
