"""Scoring applies a suggestion as the editor would and never crashes on what a model says;
metrics aggregate it with speed measured against the target alone."""

import pytest

from completion.service import CompletionService
from bench.evaluation.configs import SPECULATIVE, TARGET, eval_configs
from bench.evaluation.metrics import ALL, lossless, table
from bench.evaluation.runner import Attempt, run_service, schedule
from bench.evaluation.sandbox import BLOCKED, FAILED, TIMED_OUT
from bench.evaluation.scoring import compiles, completed_program, duplicates_suffix, score, score_all
from bench.evaluation.tasks import build_task_sets, default_data_path, load_problems
from tests.completion.fakes import FakeGenerator
from models.records import DecodeStats


@pytest.fixture(scope="module")
def tasks():
    return build_task_sets(load_problems(default_data_path())[:2], seed=0)


def by_name(tasks, name):
    return next(t for t in tasks if t.name == name)


def test_the_reference_hole_scores_as_a_pass_and_exact_match(tasks):
    for task in tasks:
        result = score(Attempt(SPECULATIVE, task, task.hole), timeout=5)
        assert result.passed and result.exact and result.syntax_valid and not result.duplicates_suffix, task.name


def test_a_suggestion_replacing_the_line_tail_is_applied_like_the_editor(tasks):
    task = by_name(tasks, "random-span/HumanEval/0")
    tail = task.suffix.split("\n")[0]
    attempt = Attempt(SPECULATIVE, task, task.hole + tail, replace_chars=len(tail))
    assert completed_program(attempt) == task.problem.program
    assert score(attempt, timeout=5).exact


@pytest.mark.parametrize("text, status", [
    ("", FAILED),                                   # nothing
    ("\x00\ufffd)))]] def def \udcff", FAILED),     # garbage, a lone surrogate included
    ("while True:\n        pass", TIMED_OUT),       # loops forever when executed
    ("import socket; socket.socket()", BLOCKED),
])
def test_what_a_model_may_say_is_scored_never_raised(tasks, text, status):
    task = by_name(tasks, "continuation/HumanEval/0")  # the body runs when the tests call it
    result = score(Attempt(SPECULATIVE, task, text), timeout=1)
    assert result.outcome.status == status and not result.passed and not result.exact


def test_suffix_duplication():
    assert duplicates_suffix("x = f(a)", ")\n")
    assert not duplicates_suffix("x = f(a", ")\n")
    assert duplicates_suffix("a = 1\n    return a", "\n    return a\n")
    assert not duplicates_suffix("a = 1", "\n    return a\n")
    assert duplicates_suffix("return a", "\n\n    return a\n")
    assert not duplicates_suffix("", "anything")


def test_a_hole_that_itself_ends_like_the_suffix_is_not_a_duplication():
    # The original line was `y = g(f(a))`: the hole `a)` ends with `)` as its suffix starts.
    assert not duplicates_suffix("a)", ")\n", hole="a)")
    assert duplicates_suffix("a))", ")\n", hole="a)")
    # Two lines `x += 1` in a row: suggesting the first is right, suggesting both repeats.
    assert not duplicates_suffix("x += 1", "\n    x += 1\n", hole="x += 1")
    assert duplicates_suffix("x += 1\n    x += 1", "\n    x += 1\n", hole="x += 1")


def test_speed_is_relative_to_the_target_alone_and_losslessness_is_checked(tasks):
    task = tasks[0]
    attempts = [Attempt(TARGET, task, task.hole, generate_ms=400, latency_ms=410,
                        decode=DecodeStats(new_tokens=40, target_passes=40)),
                Attempt(SPECULATIVE, task, task.hole, generate_ms=200, latency_ms=210,
                        decode=DecodeStats(new_tokens=40, drafted=30, accepted=20, target_passes=20))]
    scores = score_all(attempts, timeout=5)
    rows = {(r.config, r.task_set): r for r in table(scores, [TARGET, SPECULATIVE], ["single-line"])}
    speculative = rows[(SPECULATIVE, "single-line")]
    assert speculative.speedup == pytest.approx(2.0) and speculative.acceptance == pytest.approx(2 / 3)
    assert speculative.tokens_per_pass == pytest.approx(2.0) and speculative.pass_at_1 == 1.0
    assert rows[(SPECULATIVE, ALL)].latency_p50 == 210
    assert lossless(scores).holds
    different = score_all([attempts[0], Attempt(SPECULATIVE, task, task.hole + " ")], timeout=5)
    check = lossless(different)
    assert not check.holds and check.differing == (task.name,)


def test_the_direct_runner_scores_a_model_that_emits_garbage_nothing_or_fails(tasks):
    chosen = [by_name(tasks, "single-line/HumanEval/0"), by_name(tasks, "continuation/HumanEval/1")]
    configs = eval_configs(seed=0)[:2]
    for generator in (FakeGenerator(continuation="\x00)))\udcff(((:::\n\n\tdef"), FakeGenerator(continuation="")):
        attempts = run_service(CompletionService(generator), chosen, configs, {})
        assert len(attempts) == 4 and not any(a.error for a in attempts)
        assert not any(s.passed for s in score_all(attempts, timeout=5))

    class Broken(FakeGenerator):
        def generate(self, *args, **kwargs):
            raise RuntimeError("out of memory")

    attempts = run_service(CompletionService(Broken()), chosen, configs, {})
    assert all(a.error == "RuntimeError: out of memory" and a.text == "" for a in attempts)
    assert not any(s.passed for s in score_all(attempts, timeout=5))


def test_the_schedule_interleaves_configurations_and_never_repeats_the_previous_task(tasks):
    configs = eval_configs(seed=0)
    plan = schedule(tasks, configs)
    assert sorted((c.name, t.name) for c, t in plan) == sorted((c.name, t.name) for c in configs for t in tasks)
    assert [c.name for c, _ in plan[:len(configs)]] == [c.name for c in configs]
    assert all(a[1].problem is not b[1].problem for a, b in zip(plan, plan[1:]))


def test_neighbouring_requests_are_on_different_problems_even_when_the_sets_line_up():
    # 4 problems × 4 sets and 4 configurations: the obvious stride (16 / 4) lands on the same
    # problem in the next set every time, whose prompt the KV caches would already hold.
    tasks = build_task_sets(load_problems(default_data_path())[:4], seed=0)
    configs = eval_configs(seed=0)[:4]
    plan = schedule(tasks, configs)
    assert len(plan) == len(tasks) * len(configs)
    assert all(a[1].problem.task_id != b[1].problem.task_id for a, b in zip(plan, plan[1:]))


def test_an_attempt_that_cannot_be_scored_fails_alone(tasks, monkeypatch):
    import bench.evaluation.scoring as scoring

    def no_processes(source, timeout):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(scoring, "run_program", no_processes)
    results = score_all([Attempt(SPECULATIVE, t, t.hole) for t in tasks[:3]], timeout=5)
    assert len(results) == 3
    assert all(not r.passed and "OSError" in r.outcome.detail for r in results)


def _rows(scores, configs=(SPECULATIVE,), sets=("single-line",)):
    return {(r.config, r.task_set): r for r in table(scores, list(configs), list(sets))}


def test_shown_valid_counts_shown_suggestions_only_and_cpython_judges_them(tasks):
    task = by_name(tasks, "single-line/HumanEval/0")
    attempts = [Attempt(SPECULATIVE, task, task.hole, mode="single-line"),
                Attempt(SPECULATIVE, task, "return (((", mode="single-line"),      # shown, breaks the file
                Attempt(SPECULATIVE, task, "", mode="single-line")]                # not shown: not counted
    scores = score_all(attempts, timeout=5)
    # Without its hole the file does not compile either (the line was a block's only statement),
    # yet a suggestion never shown cannot count against what is shown.
    assert [s.compiles for s in scores] == [True, False, False]
    row = _rows(scores)[(SPECULATIVE, "single-line")]
    assert row.shown == 2 and row.shown_valid == pytest.approx(0.5) and row.answered == pytest.approx(2 / 3)
    nothing = _rows(score_all([attempts[2]], timeout=5))[(SPECULATIVE, "single-line")]
    assert nothing.shown == 0 and nothing.shown_valid is None and nothing.repetition is None


@pytest.mark.parametrize("program", ["x = 1\x00", "x = '\udcff'\n", "def f(a, a): pass", "return 1",
                                     "(" * 300 + ")" * 300, "x = (\n"])
def test_programs_cpython_refuses_are_invalid_and_never_raise(program):
    assert not compiles(program)


def test_warnings_do_not_make_a_program_invalid():
    assert compiles("x = '\\d'\nassert (x, 1)\n")


def test_answered_where_decided_leaves_the_declined_requests_out(tasks):
    task = by_name(tasks, "single-line/HumanEval/1")
    attempts = [Attempt(SPECULATIVE, task, task.hole, mode="single-line"),
                Attempt(SPECULATIVE, task, "", mode="single-line", guarded=True),   # decided, dropped
                Attempt(SPECULATIVE, task, "", mode="none", reason="inside a string"),
                Attempt(SPECULATIVE, task, "", error="RuntimeError: out of memory")]  # failed: not declined
    row = _rows(score_all(attempts, timeout=5))[(SPECULATIVE, "single-line")]
    assert row.decided == 3 and row.answered_decided == pytest.approx(1 / 3) and row.answered == 0.25
    declined = _rows(score_all(attempts[2:3], timeout=5))[(SPECULATIVE, "single-line")]
    assert declined.answered_decided is None


def test_repetition_is_the_share_of_shown_suggestions_that_loop(tasks):
    task = by_name(tasks, "single-line/HumanEval/0")
    attempts = [Attempt(SPECULATIVE, task, "x = (i,2,2,2,2,2,2,2,2,2)"), Attempt(SPECULATIVE, task, task.hole),
                Attempt(SPECULATIVE, task, "")]
    scores = score_all(attempts, timeout=5)
    assert [s.repetition for s in scores] == ["loop", "", ""]
    assert _rows(scores)[(SPECULATIVE, "single-line")].repetition == pytest.approx(0.5)


def test_a_task_without_tests_is_not_run_and_stays_out_of_pass_at_1():
    from bench.evaluation.held_out import HELD_OUT, held_out_tasks
    from bench.evaluation.scoring import NO_TESTS
    from training.corpus import SourceFile

    held = held_out_tasks(0, files=[SourceFile("m.py", "def f(a):\n    b = a + 1\n    return b\n")])[0]
    human = build_task_sets(load_problems(default_data_path())[:1], seed=0, task_sets=("single-line",))[0]
    scores = score_all([Attempt(SPECULATIVE, held, held.hole), Attempt(SPECULATIVE, human, human.hole)], timeout=5)
    assert scores[0].outcome.status == NO_TESTS and scores[0].compiles and scores[1].passed
    rows = _rows(scores, sets=(HELD_OUT, "single-line"))
    assert rows[(SPECULATIVE, HELD_OUT)].pass_at_1 is None and rows[(SPECULATIVE, HELD_OUT)].exact_match is None
    assert rows[(SPECULATIVE, HELD_OUT)].shown_valid == 1.0
    assert rows[(SPECULATIVE, ALL)].pass_at_1 == 1.0 and rows[(SPECULATIVE, ALL)].shown == 2


def test_targets_are_judged_on_the_speculative_configuration_over_all_sets(tasks):
    from bench.evaluation.configs import RAW
    from bench.evaluation.report import target_lines

    task = by_name(tasks, "single-line/HumanEval/0")
    good = [Attempt(SPECULATIVE, task, task.hole, mode="single-line"), Attempt(RAW, task, "return (((")]
    lines = target_lines(table(score_all(good, timeout=5), [SPECULATIVE, RAW], ["single-line"]))
    assert lines == ["- shown-valid: 100.0% (target ≥ 98%): ok",
                     "- answered where decided: 100.0% (target ≥ 60%): ok",
                     "- dup: 0.0% (target 0): ok", "- repetition: 0.0% (target 0): ok",
                     "- pass@1 (for reference, task sets with tests): 100.0% speculative vs 0.0% raw "
                     "(no stop rules, no post-processing)"]
    bad = [Attempt(SPECULATIVE, task, "return (((", mode="single-line"),
           Attempt(SPECULATIVE, by_name(tasks, "single-line/HumanEval/1"), "", mode="single-line")]
    lines = target_lines(table(score_all(bad, timeout=5), [SPECULATIVE], ["single-line"]))
    assert lines[:2] == ["- shown-valid: 0.0% (target ≥ 98%): FAIL",
                         "- answered where decided: 50.0% (target ≥ 60%): FAIL"]
    assert "– raw" in lines[-1]
    assert target_lines(table(score_all(good[1:], timeout=5), [RAW], ["single-line"]))[0].startswith("Not judged")
