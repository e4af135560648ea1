"""Tandem's server with the remote engine on real vLLM (the session's server: the embedded
target, the padded embedded draft through `draft_model`), driven over LSP as editors do:
the same suggestions as a local server, cancellation that reaches vLLM, and one clear
message for each way the team's server can be wrong."""

from __future__ import annotations

import asyncio
import time
import urllib.request

import pytest

from models.config import PairSpec
from models.errors import RemoteError
from models.remote.engine import RemotePair
from tests.e2e.session import ServerSession

DOCUMENTS = {  # (text, line, character): a return mid-function, a new line in a block, an infill
    "returns.py": ("def total(values):\n    result = 0\n    for value in values:\n        result += value\n"
                   "    return ", 4, 11),
    "block.py": ("import os\n\n\ndef list_python_files(folder):\n    ", 4, 4),
    "middle.py": ("def area(width, height):\n    return \n\n\nprint(area(2, 3))\n", 1, 11),
}


@pytest.fixture(scope="module")
def key_file(tmp_path_factory, vllm_server):
    path = tmp_path_factory.mktemp("team key") / "api key"
    path.write_text(vllm_server.api_key + "\n")
    return path


def remote_settings(vllm_server, key_file, **more) -> dict:
    return {"remoteUrl": vllm_server.url, "remoteKeyFile": str(key_file), **more}


def running_on(vllm_server) -> float:
    request = urllib.request.Request(vllm_server.url + "/metrics")
    text = urllib.request.urlopen(request, timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("vllm:num_requests_running"))


def suggestions(session: ServerSession) -> dict[str, list[str]]:
    found = {}
    for name, (text, line, character) in DOCUMENTS.items():
        uri = f"file:///team project/{name}"
        session.client.open(uri, text)
        found[name] = [item.insert_text for item in session.complete(uri, line, character)]
    return found


def test_the_remote_engine_suggests_what_the_local_engine_does(vllm_server, key_file):
    """Greedy on both sides over the same prompt ids: vLLM's float32 CPU kernels and
    PyTorch's agree here token for token (near-ties could part them; none in these)."""
    local = ServerSession({"engine": "transformers", "dtype": "float32"})
    try:
        assert local.wait_loaded()["state"] == "ready"
        expected = suggestions(local)
    finally:
        local.close()
    remote = ServerSession(remote_settings(vllm_server, key_file))
    try:
        status = remote.wait_loaded()
        assert status["state"] == "ready", status
        assert suggestions(remote) == expected
        assert any(expected.values())  # not an empty agreement
        described = remote.run(remote.client.status())["models"]
        assert described["engine"] == "remote" and described["remote"]["model"] == "embedded"
        assert described["remote"]["latencyMs"]["requests"] >= 3
        counters = described["remote"]["speculativeDecoding"]
        assert counters["draftTokens"] > 0 and 0 <= counters["acceptance"] <= 1
        assert vllm_server.api_key not in str(status) + str(described)
    finally:
        remote.close()


def test_a_superseded_request_is_aborted_on_the_server(vllm_server, key_file):
    session = ServerSession(remote_settings(vllm_server, key_file, maxNewTokens=480, postprocess=False,
                                            timeBudgetMs=0))
    try:
        assert session.wait_loaded()["state"] == "ready"
        uri = "file:///team project/long.py"
        session.client.open(uri, "def main():\n    ")

        async def supersede():
            older = asyncio.ensure_future(session.client.inline_completion(uri, 1, 4))
            await asyncio.sleep(0.5)  # 480 tokens take seconds: it is mid-stream now
            assert running_on(vllm_server) == 1
            session.client.close(uri)  # closing the document supersedes its request
            started = time.perf_counter()
            answer = await older
            return answer, time.perf_counter() - started

        answer, waited = session.run(supersede())
        assert answer == [] and waited < 1.0
        deadline = time.monotonic() + 2
        while running_on(vllm_server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running_on(vllm_server) == 0  # vLLM aborted it when the stream closed
    finally:
        session.close()


@pytest.mark.parametrize("wrong, message", [
    ({"remoteUrl": "http://127.0.0.1:9"}, "cannot reach the remote server at http://127.0.0.1:9"),
    ({"remoteModel": "codellama-7b"}, "does not serve 'codellama-7b'; it serves embedded"),
    ({"remoteKeyFile": ""}, "refused the API key (401)"),
])
def test_a_wrong_setting_is_one_clear_message_and_the_server_stays_up(vllm_server, key_file, wrong, message):
    session = ServerSession({**remote_settings(vllm_server, key_file), **wrong})
    try:
        status = session.wait_loaded(timeout=30)
        assert status["state"] == "error" and message in status["error"]
        session.wait_message(message)
        uri = "file:///team project/x.py"
        session.client.open(uri, "def f():\n    ")
        assert session.complete(uri, 1, 4) == []
        assert session.run(session.client.status())["state"] == "error"  # still answering
    finally:
        session.close()


def test_a_refusal_from_vllm_carries_its_words(vllm_server, key_file):
    pair = RemotePair.load(PairSpec(remote_url=vllm_server.url, remote_key_file=str(key_file)))
    with pytest.raises(RemoteError, match="answered 400: .*vocab"):
        pair.generate([1, 999_999], 4)  # an id beyond the vocabulary
    assert pair.generate([1] + pair.encode("def main():\n    "), 4).token_ids  # and it goes on serving


def test_tandem_complete_runs_on_the_remote_engine(vllm_server, key_file, tmp_path):
    import subprocess
    import sys

    source = tmp_path / "a project" / "demo.py"
    source.parent.mkdir()
    source.write_text("def total(values):\n    result = 0\n    for value in values:\n        result += value\n"
                      "    return ")
    done = subprocess.run([sys.executable, "-m", "lsp_server.cli", "complete", str(source), "--line", "4",
                           "--character", "11", "--remote-url", vllm_server.url, "--remote-key-file", str(key_file)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"remote {vllm_server.url} serving embedded" in done.stdout and "Traceback" not in done.stderr
