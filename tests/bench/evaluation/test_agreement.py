import json

from bench.evaluation.agreement import compare


def write(path, rows):
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def row(task, text, outcome="passed", exact=True, config="target"):
    return {"task": task, "config": config, "text": text, "outcome": outcome, "exact": exact}


def test_agreement_counts_identical_suggestions_of_the_tasks_both_ran(tmp_path):
    reference = write(tmp_path / "f32" / "results.jsonl", [
        row("a", "x = 1"), row("b", "y = 2"), row("c", "z", "no tests", False), row("a", "other", config="raw")])
    other = write(tmp_path / "q8_0" / "results.jsonl", [
        row("a", "x = 1"), row("b", "y = 3", "failed", False), row("d", "w")])
    text = compare(reference, other)
    assert "2 tasks in both runs" in text and "agreement: 1/2 suggestions identical (50.0%)" in text
    assert "pass@1: 2/2 (f32) vs 1/2 (q8_0)" in text and "exact match: 2/2 vs 1/2" in text
    assert compare(reference, other, "speculative").startswith("no task")
