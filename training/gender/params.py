"""The body-gender training settings: one dataclass, which is also its command line.

Paths on the command line are relative to the repository root, not the shell's cwd.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.data import data_root
from training.params import cli
from training.paths import repo_path


@dataclass(kw_only=True)
class GenderParams:
    """How to train the body-gender classifier; `python -m training.gender --help`."""

    data: Path = field(default=data_root(), metadata=cli(
        "folder holding people/ and catalog/ (relative to the repository root; default "
        "%(default)s)"))
    work: Path = field(default=Path("runs/gender"), metadata=cli("caches (default %(default)s)"))
    out: Path = field(default=Path("models/body-gender"), metadata=cli("default %(default)s"))
    epochs: int = field(default=6, metadata=cli())
    minutes: float = field(default=20.0, metadata=cli(
        "wall-clock budget for training; stops after the epoch that runs past it"))
    batch: int = field(default=32, metadata=cli())
    lr: float = field(default=1e-3, metadata=cli())
    no_catalog: bool = field(default=False, metadata=cli(
        "train on people/ only (skips the MoveNet pass over the catalog)"))
    limit: int | None = field(default=None, metadata=cli(
        "use only this many training people (smoke runs)"))
    target_precision: float = field(default=0.9, metadata=cli(
        "validation accuracy required of confident answers; sets the 'unknown' threshold"))
    seed: int = field(default=0, metadata=cli())

    def __post_init__(self) -> None:
        self.data, self.work, self.out = (repo_path(p) for p in (self.data, self.work, self.out))
