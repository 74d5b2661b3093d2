"""The detector's training settings: one dataclass, which is also its command line.

Paths on the command line are relative to the repository root, not the shell's cwd.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.data import data_root
from training.params import cli
from training.paths import repo_path


@dataclass(kw_only=True)
class DetectorParams:
    """How to train the garment detector; `python -m training.detector --help`."""

    data: Path = field(default=data_root(), metadata=cli(
        "folder holding street/ (relative to the repository root; default %(default)s)"))
    work: Path = field(default=Path("runs/detector"), metadata=cli(
        "dataset copy and training run (gitignored; default %(default)s)"))
    out: Path = field(default=Path("models/garment-detector"), metadata=cli(
        "where the ONNX file and manifest go (default %(default)s)"))
    model: str = field(default="yolov8n.yaml", metadata=cli(
        "ultralytics architecture yaml, trained from scratch (%(default)s), a .pt of an "
        "earlier run to continue from, or a shipped detector's .onnx to continue from"))
    imgsz: int = field(default=320, metadata=cli(
        "square training/export size; 320 keeps CPU inference fast"))
    epochs: int = field(default=100, metadata=cli())
    hours: float | None = field(default=None, metadata=cli(
        "wall-clock budget; overrides --epochs and fits the LR schedule to it"))
    batch: int = field(default=16, metadata=cli())
    warmup_epochs: float = field(default=3.0, metadata=cli(
        "epochs of learning-rate warm-up (ultralytics' default 3); 1 when continuing a run"))
    device: str = field(default="cpu", metadata=cli("cpu, or 0 for the first GPU"))
    workers: int = field(default=2, metadata=cli("data loader processes"))
    limit: int | None = field(default=None, metadata=cli(
        "use only this many trainval photos (smoke runs)"))
    val_fraction: float = field(default=0.1, metadata=cli())
    paste_bags: float = field(default=0.0, metadata=cli(
        "share of training photos that also get a copy with a catalog bag pasted beside the "
        "person (training/detector/paste.py); 0: none"))
    seed: int = field(default=0, metadata=cli())
    score_threshold: float | None = field(default=None, metadata=cli(
        "the companion's default minimum score, written to the manifest; default: the one with "
        "the best F1 on the validation photos"))
    export_only: Path | None = field(default=None, metadata=cli(
        "skip training; export these .pt weights", metavar="WEIGHTS"))

    def __post_init__(self) -> None:
        self.data, self.work, self.out = (repo_path(p) for p in (self.data, self.work, self.out))
        if self.export_only is not None:
            self.export_only = repo_path(self.export_only)
