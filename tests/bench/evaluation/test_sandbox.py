"""The sandbox runs tests for real and contains what a completion must not do."""

from pathlib import Path

import pytest

from bench.evaluation.sandbox import (AUDIT, BLOCKED, BWRAP, FAILED, LAYER_ENV, PASSED, TIMED_OUT, bwrap_problem,
                                      program_with_tests, run_program)
from bench.evaluation.tasks import default_data_path, load_problems


@pytest.fixture(autouse=True, params=[BWRAP, AUDIT])
def layer(request, monkeypatch) -> str:
    """Every test under bubblewrap (where the machine runs it) and under the audit hook alone."""
    if request.param == BWRAP and (problem := bwrap_problem()):
        pytest.skip(f"bubblewrap is not usable on this machine: {problem}")
    monkeypatch.setenv(LAYER_ENV, request.param)
    return request.param


def test_a_passing_and_a_failing_program():
    assert run_program("assert sum([1, 2]) == 3\n").status == PASSED
    outcome = run_program("assert sum([1, 2]) == 4\n")
    assert outcome.status == FAILED and outcome.detail == "AssertionError"
    outcome = run_program("def f(:\n")
    assert outcome.status == FAILED and outcome.detail.startswith("SyntaxError")


def test_a_program_that_loops_forever_times_out():
    outcome = run_program("while True:\n    pass\n", timeout=1.0)
    assert outcome.status == TIMED_OUT and outcome.seconds < 5


def test_writing_outside_the_temporary_directory_is_blocked(tmp_path):
    target = tmp_path / "escaped.txt"
    outcome = run_program(f"open({str(target)!r}, 'w').write('x')\n")
    assert outcome.status == BLOCKED and "open" in outcome.detail
    assert not target.exists()
    outcome = run_program(f"import os\nos.remove({str(Path(__file__))!r})\n")
    assert outcome.status == BLOCKED and Path(__file__).exists()


def test_files_inside_the_temporary_directory_are_allowed():
    assert run_program("open('scratch.txt', 'w').write('x')\nassert open('scratch.txt').read() == 'x'\n").passed


@pytest.mark.parametrize("code", [
    "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\nexcept Exception:\n    pass\n",
    "import socket\nsocket.socket()\n",
    "import subprocess\nsubprocess.run(['true'])\n",
    "import os\nos.system('true')\n",
    "import ctypes\nctypes.CDLL('libc.so.6').system(b'true')\n",
    "import ctypes\ntry:\n    ctypes.CDLL('libc.so.6')\nexcept OSError:\n    pass\n",
])
def test_sockets_processes_and_native_code_are_blocked_even_when_caught(code):
    assert run_program(code).status == BLOCKED


def test_numpy_and_its_own_native_libraries_are_allowed():
    # `import ctypes` opens the interpreter, numpy its bundled libraries: ordinary programs.
    assert run_program("import numpy as np\nassert int(np.arange(4).sum()) == 6\n", timeout=30).passed


def test_a_main_block_is_not_run_as_part_of_the_program():
    # A completion's demo under `if __name__ == "__main__":` would wait on input() (no stdin).
    assert run_program("if __name__ == '__main__':\n    input()\nassert True\n").passed


@pytest.mark.parametrize("code", ["exit(0)\n", "import sys\nsys.exit()\n", "import os\nos._exit(0)\n"])
def test_leaving_before_the_tests_ran_is_not_a_pass(code):
    assert run_program(code + "assert False\n").status == FAILED


def test_the_canonical_solutions_pass_as_completions_would():
    for problem in load_problems(default_data_path())[:12]:
        outcome = run_program(program_with_tests(problem.program, problem.test, problem.entry_point))
        assert outcome.passed, (problem.task_id, outcome)


def test_memory_beyond_the_limit_fails_the_program_not_the_machine():
    outcome = run_program("block = bytearray(3 << 30)\n")
    assert outcome.status == FAILED and "MemoryError" in outcome.detail


def test_the_layer_comes_from_the_environment(monkeypatch):
    from bench.evaluation.sandbox import choose_layer
    monkeypatch.setenv(LAYER_ENV, AUDIT)
    assert choose_layer() == AUDIT and choose_layer(AUDIT) == AUDIT
    monkeypatch.setenv(LAYER_ENV, "none")
    with pytest.raises(ValueError):
        choose_layer()
    monkeypatch.setenv(LAYER_ENV, "auto")
    assert choose_layer() == (AUDIT if bwrap_problem() else BWRAP)
