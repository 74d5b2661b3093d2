"""A shipped embedder run over the training's own split: the settings and data of the runs that
embed the training products (and the held-out street boxes) through the runtime's Embedder.

training.evaluate.consensus and training.embedder.centre take the same options and read the
same split as the embedder's training (training.embedder): never the evaluation's queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.data import data_root
from training.embedder.data import TrainingData, TrainingSplit, load_training_data
from training.embedder.params import MODEL_NAME
from training.params import cli
from training.paths import MODELS


@dataclass(kw_only=True)
class ShippedRun:
    """--data, --models, --embedder, --limit and --threads."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder with catalog/ and street/ (default: {data_root()})"))
    models: Path = field(default=MODELS, metadata=cli(
        "model folder holding the embedder (default: the shipped models/)"))
    embedder: str = field(default=MODEL_NAME, metadata=cli("model name under --models"))
    limit: int | None = field(default=None, metadata=cli(
        "use only this many catalog products (smoke tests)"))
    threads: int = field(default=2, metadata=cli("ONNX Runtime threads"))


def training_data(data: Path, limit: int | None) -> TrainingData:
    """The embedder's training split of `data` (the first `limit` products only, if given)."""
    return load_training_data(TrainingSplit(data.resolve(), limit))
