"""Both benchmarks say how often greedy speculative output differs from the target alone's,
and in which dtype: float32 is token-identical, bfloat16 is measured (synthetic rows)."""

from bench.engine import Row, format_divergence
from bench.evaluation.command import _print_summary
from bench.evaluation.metrics import Lossless
from bench.evaluation.report import _lossless, models_dtype


def _row(name: str, *outputs: tuple[int, ...]) -> Row:
    return Row(name, seconds=[0.1] * len(outputs), tokens=[len(o) for o in outputs], outputs=list(outputs))


def test_engine_bench_gives_each_rows_divergence_rate_with_the_dtype():
    baseline = _row("target only", (1, 2), (3, 4), (5, 6), (7, 8))
    same = _row("Tandem lookup k=4", (1, 2), (3, 4), (5, 6), (7, 8))
    one_off = _row("Tandem draft k=4", (1, 2), (3, 9), (5, 6), (7, 8))
    lines = format_divergence([baseline, same, one_off], "bfloat16").splitlines()
    assert lines[0].startswith("divergence from target-only greedy in bfloat16")
    assert lines[1].split()[-2:] == ["0/4", "0.0%"]
    assert lines[2].startswith("  Tandem draft k=4") and lines[2].split()[-2:] == ["1/4", "25.0%"]
    assert len(lines) == 3  # the baseline is not compared with itself


def _check(compared: int, differing: tuple[str, ...], pass_target: int, pass_speculative: int) -> Lossless:
    return Lossless(compared, compared - len(differing), pass_target, pass_speculative, differing)


def test_lossless_divergence_is_the_share_of_compared_tasks_that_differ():
    assert _check(8, ("a", "b"), 1, 1).divergence == 0.25
    assert _check(8, (), 1, 1).divergence == 0.0
    assert _check(0, (), 0, 0).divergence is None  # nothing compared: no rate, not 0 %


def test_eval_report_states_divergence_dtype_and_both_pass_at_1():
    text = "\n".join(_lossless(_check(8, ("HumanEval/3",), 2, 3), "bfloat16"))
    assert "7/8 suggestions identical to the target alone's (divergence 12.5% in bfloat16)" in text
    assert "pass@1 3/8 speculative vs 2/8 target alone" in text
    assert "Differing tasks: HumanEval/3" in text


def test_eval_summary_prints_divergence_dtype_and_both_pass_at_1(capsys):
    _print_summary([], _check(4, (), 1, 1), "float32")
    out = capsys.readouterr().out
    assert ("lossless (greedy speculative = target alone): 4/4 identical, divergence 0.0% in float32, "
            "pass@1 1/4 speculative vs 1/4 target alone: yes") in out


def test_the_dtype_comes_from_the_servers_status():
    assert models_dtype({"state": "ready", "models": {"dtype": "bfloat16"}}) == "bfloat16"
    assert models_dtype({"state": "ready"}) == "an unknown dtype"
