"""The `standins` fixture: the real-vocabulary stand-in pair (tooling/standins), built once
into the cache (.editor-tools/standins/test, or $TANDEM_STANDINS/test) and reused."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def standins():
    """StandIns(root, draft, target): AMD-Llama-135M's and a shrunk CodeLlama-7B's
    checkpoint directories with random weights and the real LLaMA tokenizers."""
    from standins.build import build_standins, default_root

    return build_standins(default_root("test"))
