"""`tandem bench team`'s replay against the session's real vLLM server and against local
servers: developers typing at once, every request answered, latencies and counters read."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from bench.team import Row, format_table, replay, write_chart
from models.remote.http_stream import Endpoint
from models.remote.server_facts import read_counters


def test_two_developers_on_vllm_and_two_on_local_models(vllm_server, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(vllm_server.api_key)
    remote = ["--remote-url", vllm_server.url, "--remote-key-file", str(key_file)]
    endpoint = Endpoint(vllm_server.url, vllm_server.api_key)
    on_vllm = asyncio.run(replay("vllm", 2, remote, {}, seed=1, functions=1, counters=lambda: read_counters(endpoint)))
    local = asyncio.run(replay("local", 2, [], {}, seed=1, functions=1))
    for row in (on_vllm, local):
        assert row.failed == 0 and row.seconds > 1
        assert len(row.latency_ms) > 50  # a request per keystroke, both developers
        assert all(latency >= 0 for latency in row.latency_ms)
    assert on_vllm.acceptance is not None and 0 <= on_vllm.acceptance <= 1  # vLLM drafted while they typed
    # Keystrokes' prompts share their start: vLLM's prefix cache and the local caches reuse it.
    assert on_vllm.prompt_reuse is not None and 0.3 < on_vllm.prompt_reuse <= 1, on_vllm.prompt_reuse
    assert local.prompt_reuse is not None and 0.5 < local.prompt_reuse <= 1, local.prompt_reuse
    table = format_table([on_vllm, local])
    assert table.splitlines()[2].startswith("vllm       2") and table.splitlines()[3].startswith("local      2")
    write_chart(tmp_path / "chart.png", [on_vllm, local])
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_chart_tolerates_a_setup_without_answers(tmp_path):
    write_chart(tmp_path / "empty.png", [Row("vllm", 1), Row("local", 1, by_models_ms=[40.0, 60.0])])
    assert (tmp_path / "empty.png").stat().st_size > 100


def test_bad_arguments_are_one_line(tmp_path):
    for bad in (["--users", "0"], ["--users", "two"], ["--setups", "cloud"]):
        done = subprocess.run([sys.executable, "-m", "lsp_server.cli", "bench", "team", *bad],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "tandem bench team: --users wants" in done.stderr and "Traceback" not in done.stderr
