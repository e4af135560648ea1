"""Aggregate scores per (configuration, task set): quality, length, latency and decoding
statistics, with speed relative to the target alone on the same tasks in the same run.

pass@1 and exact match are over the tasks with tests (HumanEval's sets): None for a set
without tests (held-out), and `all` leaves those tasks out of them. The other shares
are over every task of the group; shown-valid and repetition over the shown suggestions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.evaluation.configs import SPECULATIVE, TARGET
from bench.evaluation.scoring import Score
from lsp_server.stats import percentile
from models.records import DecodeStats

ALL = "all"


@dataclass(frozen=True)
class Row:
    config: str
    task_set: str
    tasks: int
    answered: float           # share of requests with a non-empty suggestion
    pass_at_1: float | None   # None: no task with tests in the group
    exact_match: float | None
    syntax_valid: float
    duplicates_suffix: float
    mean_chars: float         # mean suggestion length (answered ones)
    latency_p50: float | None
    latency_p95: float | None
    acceptance: float | None  # accepted / drafted
    tokens_per_pass: float | None
    tokens_per_second: float | None  # new tokens / generate-stage seconds
    speedup: float | None = None     # tokens_per_second over the target alone's, same tasks
    errors: int = 0
    answered_decided: float | None = None  # answered, of the requests the server chose to complete
    shown_valid: float | None = None       # shown suggestions whose completed file CPython compiles
    repetition: float | None = None        # shown suggestions holding degenerate repetition
    shown: int = 0                         # suggestions shown (non-empty)
    decided: int = 0                       # requests the server did not decline (failed ones included)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _share(chosen: list[Score], judge) -> float | None:
    return sum(bool(judge(s)) for s in chosen) / len(chosen) if chosen else None


def summarise(config: str, task_set: str, scores: list[Score]) -> Row:
    attempts = [s.attempt for s in scores]
    answered = [a for a in attempts if a.text]
    shown = [s for s in scores if s.attempt.text]
    decided = [s for s in scores if not s.attempt.declined]
    tested = [s for s in scores if s.attempt.task.tested]
    # Latency of the requests that ran the models: a request the server declines in a
    # millisecond would otherwise pull the percentiles down.
    latencies = sorted(a.latency_ms for a in attempts if not a.error and a.decode.new_tokens)
    count = len(scores) or 1
    decode = sum((a.decode for a in attempts), DecodeStats())
    new_tokens = decode.new_tokens
    return Row(
        config, task_set, len(scores), len(answered) / count,
        _share(tested, lambda s: s.passed), _share(tested, lambda s: s.exact),
        sum(s.syntax_valid for s in scores) / count, sum(s.duplicates_suffix for s in scores) / count,
        sum(len(a.text) for a in answered) / len(answered) if answered else 0.0,
        percentile(latencies, 50), percentile(latencies, 95),
        decode.acceptance, decode.tokens_per_pass,
        _ratio(new_tokens, sum(a.generate_ms for a in attempts) / 1000),
        errors=sum(bool(a.error) for a in attempts),
        answered_decided=_share(decided, lambda s: s.attempt.text),
        shown_valid=_share(shown, lambda s: s.compiles), repetition=_share(shown, lambda s: s.repetition),
        shown=len(shown), decided=len(decided))


def table(scores: list[Score], configs: list[str], task_sets: list[str]) -> list[Row]:
    """One row per configuration and task set, plus each configuration over all sets."""
    rows = []
    for task_set in [*task_sets, ALL]:
        baseline = None
        for config in configs:
            chosen = [s for s in scores if s.attempt.config == config
                      and (task_set == ALL or s.attempt.task.task_set == task_set)]
            row = summarise(config, task_set, chosen)
            if config == TARGET:
                baseline = row.tokens_per_second
            if baseline and row.tokens_per_second:
                row = replace(row, speedup=row.tokens_per_second / baseline)
            rows.append(row)
    return rows


@dataclass(frozen=True)
class Lossless:
    """Greedy speculative decoding against the target alone, task by task. Tasks where
    neither generated (the server declined both) or either request failed are not
    compared: they would count as identical without testing anything."""
    compared: int
    identical: int
    pass_target: int
    pass_speculative: int
    differing: tuple[str, ...]  # task names whose suggestions differ
    declined: int = 0           # neither generated
    failed: int = 0             # either request failed
    tested: int | None = None   # compared tasks with tests (pass@1's denominator); None: all of them

    @property
    def pass_denominator(self) -> int:
        return self.compared if self.tested is None else self.tested

    @property
    def divergence(self) -> float | None:
        """Share of the compared tasks whose suggestions differ: 0 in float32; in bfloat16
        a verify pass of k+1 tokens and a one-token step may round differently."""
        return len(self.differing) / self.compared if self.compared else None

    @property
    def holds(self) -> bool:
        return self.compared > 0 and self.identical == self.compared and self.pass_target == self.pass_speculative


def lossless(scores: list[Score]) -> Lossless | None:
    by_config = {c: {s.attempt.task.name: s for s in scores if s.attempt.config == c} for c in (TARGET, SPECULATIVE)}
    target, speculative = by_config[TARGET], by_config[SPECULATIVE]
    common = sorted(set(target) & set(speculative))
    if not common:
        return None
    failed = {n for n in common if target[n].attempt.error or speculative[n].attempt.error}
    declined = {n for n in common if n not in failed
                and not target[n].attempt.decode.new_tokens and not speculative[n].attempt.decode.new_tokens}
    compared = [n for n in common if n not in failed | declined]
    differing = tuple(n for n in compared if target[n].attempt.text != speculative[n].attempt.text)
    tested = [n for n in compared if target[n].attempt.task.tested]
    return Lossless(len(compared), len(compared) - len(differing), sum(target[n].passed for n in tested),
                    sum(speculative[n].passed for n in tested), differing, len(declined), len(failed), len(tested))
