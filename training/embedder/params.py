"""The embedder's training settings: one dataclass, which is also its command line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from pathlib import Path

from training.data import data_root
from training.embedder.augment import PASTE_P
from training.embedder.data import TrainingSplit
from training.embedder.model import PartWeights
from training.params import cli
from training.paths import MODELS, RUNS

MODEL_NAME = "garment-embedder"
STOPGAP_ONNX = MODELS / "nanodet-embedder" / "nanodet-embedder.onnx"


def part_weights(text: str) -> PartWeights:
    """H,T,G,K,S,C on the command line -> PartWeights."""
    values = [float(v) for v in text.split(",")]
    names = [f.name for f in fields(PartWeights)]
    if len(values) != len(names):
        raise argparse.ArgumentTypeError(
            f"give {len(names)} comma-separated weights, in this order: {','.join(names)}")
    return PartWeights(*values)


@dataclass(kw_only=True)
class EmbedderParams:
    """How to train (or re-export) the garment embedder; `python -m training.embedder --help`."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder with catalog/ and street/ (default: {data_root()})"))
    out: Path = field(default=MODELS / MODEL_NAME, metadata=cli(
        "where the ONNX and manifest.json go (default: models/garment-embedder)"))
    work: Path = field(default=RUNS / "embedder", metadata=cli(
        "checkpoints and logs (git-ignored)"))
    init: Path = field(default=STOPGAP_ONNX, metadata=cli(
        "ONNX whose NanoDet backbone weights start the training"))
    steps: int = field(default=2400, metadata=cli(
        "optimiser steps (2400 at 160 px: about 42 min on 2 idle cores)"))
    batch: int = field(default=192, metadata=cli("cached views per step"))
    views: int = field(default=10, metadata=cli(
        "views per image: 1 clean + N-1 augmented (catalog), N jittered (street)"))
    street_weight: float = field(default=1.0, metadata=cli(
        "sampling weight of a street crop relative to an average product"))
    size: int = field(default=160, metadata=cli("model input size in pixels"))
    cache_size: int = field(default=TrainingSplit.cache_size, metadata=cli(
        "size at which images are decoded into RAM (crops are resampled)"))
    dim: int = field(default=256, metadata=cli("embedding dimensions"))
    lr: float = field(default=2e-4, metadata=cli("backbone learning rate (head x10)"))
    paste_p: float = field(default=PASTE_P, metadata=cli(
        "share of catalog images pasted onto street backgrounds"))
    val_fraction: float = field(default=TrainingSplit.val_fraction, metadata=cli(
        "share of index rows kept out of training for monitoring"))
    street_val_fraction: float = field(default=TrainingSplit.street_val_fraction, metadata=cli(
        "share of street trainval photos kept out of training; their garment boxes tune the "
        "part weights"))
    limit: int | None = field(default=None, metadata=cli(
        "use only this many catalog products (smoke tests)"))
    seed: int = field(default=0, metadata=cli())
    threads: int = field(default=2, metadata=cli("torch CPU threads"))
    log_every: int = field(default=20, metadata=cli())
    eval_every: int = field(default=200, metadata=cli(
        "monitoring and checkpoint interval (0: never)"))
    no_export: bool = field(default=False, metadata=cli("train only, write no model"))
    colour_views: int = field(default=3, metadata=cli(
        "views per training product for the colour head (1 clean + N-1 street-like)"))
    colour_epochs: int = field(default=40, metadata=cli("colour head training epochs"))
    part_weights: PartWeights | None = field(default=None, metadata=cli(
        "weights of the histogram, type, gender, kind (type and gender), street and colour "
        "parts (default: tuned on the monitoring slice)",
        type=part_weights, metavar="H,T,G,K,S,C"))
    reexport: Path | None = field(default=None, metadata=cli(
        "skip everything but the export: rebuild this exported model (e.g. "
        "models/garment-embedder/garment-embedder.onnx) from its own weights and export it "
        "again with this package's graph code, checking that it computes the same embeddings "
        "(for speed-ups that keep the function)", metavar="ONNX"))
    from_checkpoint: Path | None = field(default=None, metadata=cli(
        "skip training: load this checkpoint (e.g. runs/embedder/checkpoint.pt), then fit the "
        "colour head, tune the part weights and export"))

    def __post_init__(self) -> None:
        self.data = self.data.resolve()

    def split(self) -> TrainingSplit:
        """The products and street photos this run reads."""
        return TrainingSplit(self.data, self.limit, self.val_fraction, self.street_val_fraction,
                             self.cache_size)
