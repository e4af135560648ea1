"""The report's PNG plots (matplotlib, without a display)."""

from __future__ import annotations

from pathlib import Path

from bench.evaluation.configs import LEFT_CONTEXT, RAW, SAMPLED, SPECULATIVE
from bench.evaluation.metrics import ALL, Row
from bench.evaluation.scoring import Score

LATENCY_PNG, SPEEDUP_PNG, PASS_PNG = "latency.png", "speedup.png", "pass-at-1.png"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    return pyplot


def _bars(axes, groups: list[str], series: dict[str, list[float]]) -> None:
    width = 0.8 / max(1, len(series))
    for index, (label, values) in enumerate(series.items()):
        axes.bar([g + (index - (len(series) - 1) / 2) * width for g in range(len(groups))], values, width, label=label)
    axes.set_xticks(range(len(groups)), groups)
    axes.legend(fontsize="small")


def write_plots(out: Path, scores: list[Score], rows: list[Row], configs: list[str], task_sets: list[str]) -> list[str]:
    pyplot = _pyplot()
    row = {(r.config, r.task_set): r for r in rows}

    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    latencies = [[s.attempt.latency_ms for s in scores if s.attempt.config == c and not s.attempt.error] or [0.0]
                 for c in configs]
    axes.boxplot(latencies, showfliers=True)
    axes.set_xticks(range(1, len(configs) + 1), configs)
    axes.set_yscale("log")
    axes.set_ylabel("request → answer (ms, log scale)")
    axes.set_title("Latency per configuration (all task sets)")
    figure.tight_layout()
    figure.savefig(out / LATENCY_PNG, dpi=110)

    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    groups = [*task_sets, ALL]
    shown = [c for c in (SPECULATIVE, SAMPLED) if c in configs]
    _bars(axes, groups, {c: [(row.get((c, g)) and row[(c, g)].speedup) or 0.0 for g in groups] for c in shown})
    axes.axhline(1.0, color="grey", linewidth=1, linestyle="--")
    axes.set_ylabel("tokens/s ÷ target alone's")
    axes.set_title("Speedup over the target alone, per task set")
    figure.tight_layout()
    figure.savefig(out / SPEEDUP_PNG, dpi=110)

    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    labels = {SPECULATIVE: "Tandem (FIM + post-processing)", RAW: "raw model output",
              LEFT_CONTEXT: "left context only"}
    tested = [g for g in groups if any(row[(c, g)].pass_at_1 is not None for c in configs)]  # not held-out
    _bars(axes, tested, {labels[c]: [(row[(c, g)].pass_at_1 or 0.0) * 100 for g in tested]
                         for c in labels if c in configs})
    axes.set_ylim(0, max(5.0, axes.get_ylim()[1]))  # an all-zero run still shows its axis from 0
    axes.set_ylabel("pass@1 (%)")
    axes.set_title("pass@1 with and without post-processing, FIM and left-context prompts")
    figure.tight_layout()
    figure.savefig(out / PASS_PNG, dpi=110)
    pyplot.close("all")
    return [LATENCY_PNG, SPEEDUP_PNG, PASS_PNG]
