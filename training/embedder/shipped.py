"""The options and data of the scripts that run a shipped embedder over the training's own split.

scripts/tune_consensus.py and scripts/centre_embedder.py both embed the training products (and
the held-out street boxes) through the runtime's Embedder, so they take the same options and
read the same split as scripts/train_embedder.py: never the evaluation's queries.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import train_embedder as te


def add_embedder_options(p: argparse.ArgumentParser) -> None:
    """--data, --models, --embedder, --limit and --threads."""
    p.add_argument("--data", type=Path, default=te.REPO / ".." / "shared" / "data",
                   help="folder with catalog/ and street/ (default: ../shared/data)")
    p.add_argument("--models", type=Path, default=te.REPO / "models",
                   help="model folder holding the embedder (default: the shipped models/)")
    p.add_argument("--embedder", default=te.MODEL_NAME, help="model name under --models")
    p.add_argument("--limit", type=int, default=None,
                   help="use only this many catalog products (smoke tests)")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")


def training_data(args: argparse.Namespace) -> te.TrainingData:
    """train_embedder.py's split of --data (the first --limit products only, if given)."""
    limit = ["--limit", str(args.limit)] if args.limit else []
    return te.load_training_data(te.parse_args(["--data", str(args.data.resolve()), *limit]))
