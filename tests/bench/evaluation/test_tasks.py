"""Task sets: deterministic, the hole cut where the set says, and the data's bad cases."""

import gzip
import json

import pytest

from bench.evaluation.tasks import (TASK_SETS, DataError, Problem, build_task_sets, default_data_path,
                                         load_problems, make_task)


@pytest.fixture(scope="module")
def problems():
    return load_problems(default_data_path())


def test_the_packaged_data_holds_164_problems(problems):
    assert len(problems) == 164 and problems[0].task_id == "HumanEval/0"


def test_each_set_has_one_task_per_problem_and_the_holes_rebuild_the_program(problems):
    tasks = build_task_sets(problems, seed=0)
    for task_set in TASK_SETS:
        assert len([t for t in tasks if t.task_set == task_set]) == 164
    for task in tasks:
        assert task.prefix + task.hole + task.suffix == task.problem.program
        assert task.hole.strip(), task.name
        assert task.prefix.startswith(task.problem.prompt)


def test_holes_are_cut_as_each_set_says(problems):
    tasks = {(t.task_set, t.problem.task_id): t for t in build_task_sets(problems, seed=0)}
    for problem in problems:
        single = tasks[("single-line", problem.task_id)]
        assert "\n" not in single.hole and single.hole == single.hole.strip()
        assert single.prefix.endswith("\n" + " " * (len(single.prefix) - single.prefix.rfind("\n") - 1))
        assert single.suffix.split("\n")[0].strip() == ""  # the rest of the line: its end (trailing spaces)
        multi = tasks[("multi-line", problem.task_id)]
        solution_lines = [line for line in problem.canonical_solution.splitlines() if line.strip()]
        assert ("\n" in multi.hole) == (len(solution_lines) > 1)
        continuation = tasks[("continuation", problem.task_id)]
        assert continuation.prefix[len(problem.prompt):].strip() == ""  # the body's indentation (blank lines)
        assert continuation.suffix.strip() == ""


def test_the_seed_decides_the_holes(problems):
    first, again = build_task_sets(problems, seed=0), build_task_sets(problems, seed=0)
    other = build_task_sets(problems, seed=1)
    assert first == again
    assert sum(a.hole != b.hole for a, b in zip(first, other)) > 100
    # Continuation has one way to cut a body: the seed does not change it.
    assert [t for t in first if t.task_set == "continuation"] == [t for t in other if t.task_set == "continuation"]


def test_limit_keeps_the_first_problems_of_every_set(problems):
    tasks = build_task_sets(problems, seed=0, limit=2)
    assert [t.name for t in tasks] == [f"{s}/HumanEval/{i}" for s in TASK_SETS for i in (0, 1)]


def test_a_problem_without_a_solution_line_has_no_task():
    empty = Problem("x/0", "def f():\n", "\n\n", "def check(c): pass", "f")
    assert all(make_task(task_set, empty, 0) is None for task_set in TASK_SETS)


def test_missing_data_says_what_to_install_or_pass(tmp_path):
    with pytest.raises(DataError, match=r"pip install -e 'tooling\[eval\]'.*--data PATH"):
        load_problems(None)
    with pytest.raises(DataError, match="HumanEval data not found at .*nope.jsonl.gz: pass --data PATH"):
        load_problems(tmp_path / "nope.jsonl.gz")


def test_unreadable_data_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    with pytest.raises(DataError, match="is not a HumanEval .jsonl"):
        load_problems(broken)
    partial = tmp_path / "partial.jsonl.gz"
    with gzip.open(partial, "wt") as file:
        file.write(json.dumps({"task_id": "x", "prompt": "p"}) + "\n")
    with pytest.raises(DataError, match="line 1: a HumanEval record needs"):
        load_problems(partial)
    typed = tmp_path / "typed.jsonl"
    typed.write_text(json.dumps({"task_id": 1, "prompt": "p", "canonical_solution": "s", "test": "t",
                                 "entry_point": "f"}) + "\n")
    with pytest.raises(DataError, match="line 1: .* as strings"):
        load_problems(typed)
    cut = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(b"".join(json.dumps({"task_id": str(i), "prompt": "p" * 500, "canonical_solution": "s",
                                                                "test": "t", "entry_point": "f"}).encode() + b"\n"
                                   for i in range(50)))
    cut.write_bytes(whole[:len(whole) // 2])  # a download that stopped halfway
    with pytest.raises(DataError, match="is not a HumanEval .jsonl"):
        load_problems(cut)
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n")
    with pytest.raises(DataError, match="holds no problems"):
        load_problems(blank)
