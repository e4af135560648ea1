"""The training corpus: Python source of the interpreter's own standard library (PSF licence).

Every machine that runs Tandem has this code, so the embedded pair can be rebuilt offline.
The train/held-out split is decided by a hash of each file's path relative to the stdlib
root, so it is stable across machines and runs.
"""

from __future__ import annotations

import hashlib
import sysconfig
from dataclasses import dataclass
from pathlib import Path

HELD_OUT_PERCENT = 5
# Generated tables and test data files teach nothing about code and dominate by size.
MAX_FILE_BYTES = 200_000


@dataclass(frozen=True)
class SourceFile:
    relative_path: str
    text: str


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def is_held_out(relative_path: str) -> bool:
    digest = hashlib.sha256(relative_path.encode()).digest()
    return digest[0] * 100 // 256 < HELD_OUT_PERCENT


def load_split(held_out: bool, root: Path | None = None) -> list[SourceFile]:
    """All readable stdlib .py files on one side of the split, sorted by path."""
    root = root or stdlib_root()
    files = []
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts or path.stat().st_size > MAX_FILE_BYTES:
            continue
        relative = path.relative_to(root).as_posix()
        if is_held_out(relative) != held_out:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if text.strip():
            files.append(SourceFile(relative, text))
    return files
