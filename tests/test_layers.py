"""Imports flow one way: lsp_server → completion → models; completion never imports torch.

The tooling wing (tooling/: bench, training, sync_settings) sits beside the runtime and may
import it; no runtime package imports the tooling, and the training scripts stay below the
product (they build models, so they may use `models` only).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLING = {"bench", "training", "standins", "realmodel", "sync_settings", "cache_folder"}
FORBIDDEN = {
    "lsp_server": TOOLING,
    "completion": {"lsp_server", "torch", "transformers"} | TOOLING,
    "models": {"completion", "lsp_server"} | TOOLING,
    "tooling/training": {"lsp_server", "completion", "bench", "sync_settings"},
}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no Python files: is the layout still the one this test describes?"
    offenders = {str(path.relative_to(ROOT)): sorted(imported_modules(path) & FORBIDDEN[package]) for path in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_tooling_wing_is_scanned_too():
    """Every Python file of tooling/ parses, bench and training are where the rules above
    look, and the wing uses the runtime: the arrow points into the runtime, never out."""
    files = sorted((ROOT / "tooling").rglob("*.py"))
    assert {path.relative_to(ROOT / "tooling").parts[0] for path in files} >= {"bench", "training"}
    imported = set().union(*(imported_modules(path) for path in files))
    assert {"lsp_server", "completion", "models"} <= imported
