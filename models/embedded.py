"""Where the embedded default pair lives (trained by tooling/training, shipped in the package)."""

from pathlib import Path

EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"
EMBEDDED_DRAFT = EMBEDDED_DIR / "draft"
EMBEDDED_TARGET = EMBEDDED_DIR / "target"


def resolve_model_dirs(draft: str, target: str) -> tuple[Path, Path]:
    """Empty settings mean the embedded pair; anything else is a local directory."""
    return (
        Path(draft).expanduser() if draft else EMBEDDED_DRAFT,
        Path(target).expanduser() if target else EMBEDDED_TARGET,
    )
