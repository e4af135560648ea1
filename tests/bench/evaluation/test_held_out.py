"""The held-out task set: one line hole per held-out standard-library file that compiles,
cut like the single-line set, the same for the same seed."""

import ast

import pytest

from bench.evaluation.held_out import HELD_OUT, held_out_tasks
from training.corpus import SourceFile, is_held_out

SOURCE = '''"""A module."""
import os

TABLE = [1, 2]


def first(items):
    """Docstring: never a hole."""
    total = 0  # a comment: not a whole statement line
    for item in items:
        total += item
    return total


class Box:
    def open(self, a, b):
        self.a = a; self.b = b
        self.size = len(a)
'''


@pytest.fixture(scope="module")
def tasks():
    return held_out_tasks(seed=0)


def test_one_task_per_held_out_file_that_compiles(tasks):
    assert len(tasks) >= 60
    paths = [t.problem.task_id for t in tasks]
    assert paths == sorted(set(paths)) and all(is_held_out(p) for p in paths)
    for task in tasks:
        assert task.task_set == HELD_OUT and task.name == f"held-out/{task.problem.task_id}"
        assert not task.tested
        program = task.prefix + task.hole + task.suffix
        assert program == task.problem.program
        compile(program, task.name, "exec", dont_inherit=True)


def test_the_hole_is_one_whole_statement_line_with_the_indentation_left_before_the_cursor(tasks):
    for task in tasks:
        assert "\n" not in task.hole and task.hole == task.hole.strip(), task.name
        line_prefix = task.prefix[task.prefix.rfind("\n") + 1:]
        assert not line_prefix.strip() and line_prefix, task.name  # indented: inside a function
        assert task.suffix.startswith("\n") or not task.suffix, task.name
        statement = ast.parse(task.hole).body
        assert len(statement) == 1 and not isinstance(statement[0], (ast.If, ast.For, ast.FunctionDef)), task.name


def test_the_seed_decides_the_holes_and_limit_keeps_the_first_files(tasks):
    assert held_out_tasks(seed=0) == tasks
    other = held_out_tasks(seed=1)
    assert [t.problem.task_id for t in other] == [t.problem.task_id for t in tasks]
    assert sum(a.hole != b.hole for a, b in zip(tasks, other)) > len(tasks) // 2
    assert held_out_tasks(seed=0, limit=3) == tasks[:3]


def test_holes_are_simple_statements_in_function_bodies_only():
    holes = {t.hole for seed in range(40) for t in held_out_tasks(seed, files=[SourceFile("m.py", SOURCE)])}
    assert holes == {"total += item", "return total", "self.size = len(a)"}


def test_files_that_do_not_compile_or_have_no_function_are_left_out():
    files = [SourceFile("bad.py", "def f():\n    x = (\n"), SourceFile("flat.py", "x = 1\ny = 2\n"),
             SourceFile("dup.py", "def f(a, a):\n    return a\n"), SourceFile("m.py", SOURCE)]
    assert [t.problem.task_id for t in held_out_tasks(0, files=files)] == ["m.py"]
