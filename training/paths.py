"""Where the repository's folders are, for training code run from anywhere."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
RUNS = REPO / "runs"  # checkpoints, caches and reports (git-ignored)


def repo_path(path: str | Path) -> Path:
    """Paths on the command line are relative to the repository root, not the shell's cwd."""
    path = Path(path)
    return path if path.is_absolute() else (REPO / path)
