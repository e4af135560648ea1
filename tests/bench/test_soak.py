"""`tandem bench soak`, small: typing, cancels, closes and broken messages against the real
server on the embedded pair; every request is answered and the server exits cleanly."""

from __future__ import annotations

import subprocess
import sys

from bench.soak import BROKEN, report, script, RunResult


def test_the_malformed_run_types_exactly_what_the_clean_run_types():
    clean, soak = script(2000, 5, 3, malformed=False), script(2000, 5, 3, malformed=True)
    assert [s for s in soak if s.action != "malformed"] == clean
    kinds = {s.malformed for s in soak if s.action == "malformed"}
    assert len(kinds) == len(BROKEN)  # every kind of broken message is sent


def test_the_report_fails_on_an_unanswered_request_or_growth(capsys):
    good = RunResult(latencies_ms=[10.0] * 20, rss_mb=[(0, 100.0), (50, 110.0), (100, 120.0)], exit_code=0)
    assert report(good, good, 100) == 0
    unanswered = RunResult(latencies_ms=[10.0] * 20, rss_mb=[(0, 100.0), (100, 100.0)], unanswered=1, exit_code=0)
    assert report(good, unanswered, 100) == 1
    growing = RunResult(latencies_ms=[10.0] * 20, rss_mb=[(0, 100.0), (10, 100.0), (100, 200.0)], exit_code=0)
    assert report(good, growing, 100) == 1
    assert "FAIL  RSS growth after warm-up 100.0 MB" in capsys.readouterr().out


def test_a_short_soak_against_the_real_server_answers_everything():
    result = subprocess.run([sys.executable, "-m", "lsp_server", "bench", "soak", "--keystrokes", "300",
                             "--documents", "3", "--interval-ms", "5", "--no-clean-run"],
                            capture_output=True, text=True, timeout=600)
    out = result.stdout
    assert "unanswered requests" in out and "RSS of the server" in out, out + result.stderr
    unanswered = next(line for line in out.splitlines() if line.startswith("unanswered requests")).split()[-1]
    assert unanswered == "0", out
    assert "ok    the server lived, and exited 0 when told" in out, out
    assert "ok    no normal request answered with an error" in out, out
