"""Where an engine keeps what it derives from a checkpoint (an ONNX export, a GGUF file):
under $XDG_CACHE_HOME/tandem/<kind>/, in a folder named by a hash of the checkpoint's path,
its weights' names and mtimes, and whatever else decides the file's bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def derived_path(checkpoint: Path, kind: str, identity: list[str], filename: str,
                 cache_dir: Path | None = None) -> Path:
    """The file `filename` made from `checkpoint`; `identity` (dtype, format version, …)
    joins the key, so a change to any of them is a new file, never a stale one."""
    weights = sorted(checkpoint.glob("*.safetensors"))
    key = "|".join([str(checkpoint.resolve()), *identity, *(f"{w.name}:{w.stat().st_mtime_ns}" for w in weights)])
    root = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tandem" / kind
    return root / hashlib.sha256(key.encode()).hexdigest()[:16] / filename
