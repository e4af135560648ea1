"""Score one attempt: apply the suggestion as the editor would, then judge the program —
exact match, tree-sitter syntax, suffix duplication, and its tests run in the sandbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from completion.syntax import count_errors, parse
from lsp_server.evaluation.runner import Attempt
from lsp_server.evaluation.sandbox import Outcome, run_program, program_with_tests


@dataclass(frozen=True)
class Score:
    attempt: Attempt
    outcome: Outcome
    exact: bool
    syntax_valid: bool
    duplicates_suffix: bool

    @property
    def passed(self) -> bool:
        return self.outcome.passed


def completed_program(attempt: Attempt) -> str:
    task = attempt.task
    return task.prefix + attempt.text + task.suffix[attempt.replace_chars:]


def _normalised(program: str) -> str:
    return "\n".join(line.rstrip() for line in program.rstrip().splitlines())


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def duplicates_suffix(text: str, suffix: str) -> bool:
    """The suggestion repeats what follows it: it ends with the rest of the cursor's line,
    or its last line is the suffix's next non-blank line."""
    if not text.strip():
        return False
    line_tail, _, below = suffix.partition("\n")
    if line_tail.strip():
        return text.rstrip().endswith(line_tail.strip())
    last_line = next(line.strip() for line in reversed(text.splitlines()) if line.strip())
    return last_line == _first_line(below)


def score(attempt: Attempt, timeout: float) -> Score:
    task, program = attempt.task, completed_program(attempt)
    outcome = run_program(program_with_tests(program, task.problem.test, task.problem.entry_point), timeout)
    return Score(attempt, outcome, _normalised(program) == _normalised(task.problem.program),
                 count_errors(parse(program.encode("utf-8", "surrogatepass")).root_node) == 0,
                 duplicates_suffix(attempt.text, task.suffix[attempt.replace_chars:]))


def score_all(attempts: list[Attempt], timeout: float, workers: int = 2) -> list[Score]:
    """Programs run `workers` at a time (each is its own process)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda attempt: score(attempt, timeout), attempts))
