"""The targets a user-facing run must meet: judged on the speculative (default)
configuration over all task sets, with pass@1 against raw model output for reference."""

from __future__ import annotations

from dataclasses import dataclass

from bench.evaluation.configs import RAW, SPECULATIVE
from bench.evaluation.metrics import ALL, Row

SHOWN_VALID_MIN = 0.98
ANSWERED_DECIDED_MIN = 0.60


@dataclass(frozen=True)
class Target:
    name: str
    goal: str                 # as the report prints it
    value: float | None       # None: nothing to measure (no suggestion shown, nothing decided)
    met: bool


def _at_least(name: str, value: float | None, minimum: float) -> Target:
    return Target(name, f"≥ {minimum:.0%}", value, value is not None and value >= minimum)


def _none(name: str, value: float | None) -> Target:
    return Target(name, "0", value, not value)  # no suggestion shown: nothing repeated


def targets(rows: list[Row]) -> list[Target] | None:
    """The targets on the speculative configuration's `all` row; None when it was not run."""
    row = next((r for r in rows if (r.config, r.task_set) == (SPECULATIVE, ALL)), None)
    if row is None:
        return None
    return [_at_least("shown-valid", row.shown_valid, SHOWN_VALID_MIN),
            _at_least("answered where decided", row.answered_decided, ANSWERED_DECIDED_MIN),
            _none("dup", row.duplicates_suffix), _none("repetition", row.repetition)]


def pass_reference(rows: list[Row]) -> tuple[float | None, float | None]:
    """pass@1 over all task sets with tests: speculative, raw (None where not run)."""
    found = {r.config: r.pass_at_1 for r in rows if r.task_set == ALL}
    return found.get(SPECULATIVE), found.get(RAW)
