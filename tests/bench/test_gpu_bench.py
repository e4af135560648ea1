"""`tandem bench gpu`: refuses clearly without CUDA; its measurements and table run on the
CPU with tiny shapes (timings here mean nothing; the code path is what is checked)."""

import subprocess
import sys

import torch

from bench.gpu import AMD_LLAMA_135M, CODELLAMA_7B, Shapes, measure, report
from models.config import MAX_DRAFT_TOKENS
from tests.conftest import ROOT

TINY = {"vocab_size": 200, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 256,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}}


def test_the_real_shapes_are_the_published_configs():
    assert (AMD_LLAMA_135M["num_hidden_layers"], AMD_LLAMA_135M["hidden_size"], AMD_LLAMA_135M["vocab_size"]) == \
        (12, 768, 32000)
    assert (CODELLAMA_7B["num_hidden_layers"], CODELLAMA_7B["hidden_size"], CODELLAMA_7B["vocab_size"]) == \
        (32, 4096, 32016)


def test_measurements_and_table_on_tiny_shapes():
    costs = measure(torch.device("cpu"), torch.float32,
                    Shapes({**TINY, "vocab_size": 190}, TINY, context=24, repeats=2, oracle_tokens=12,
                           static_window=128), log=lambda text: None)
    assert set(costs.verify) == set(range(1, MAX_DRAFT_TOKENS + 1)) and costs.target_step > 0 and costs.draft_step_graphed != 0
    assert costs.oracle_alpha > 0.9  # the target drafting for itself is (nearly) always right
    table = report(costs, "cpu", torch.float32, shapes="tiny random shapes")
    assert "c = draft/target step" in table and "verify(6)/step" in table and "2.80× (MI250, fp32)" in table
    assert len([line for line in table.splitlines() if line[:2].strip().isdigit()]) == MAX_DRAFT_TOKENS  # k = 1..k_max
    assert "oracle (the target drafts for itself, k=4)" in table


def test_without_cuda_it_refuses_with_the_reason():
    if torch.cuda.is_available():
        return
    run = subprocess.run([sys.executable, "-m", "lsp_server", "bench", "gpu"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert run.returncode == 2 and "needs a CUDA or ROCm GPU" in run.stderr and "Traceback" not in run.stderr
