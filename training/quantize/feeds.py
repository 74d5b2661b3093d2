"""Calibration inputs: the tensors each model is fed by the look pipeline on trainval photos."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from companion.catalog.catalogs import Catalogs
from companion.inference.store import ModelStore
from companion.pipeline.look import LookPipeline

Feeds = dict[str, list[dict[str, np.ndarray]]]


def trainval_photos(street: Path, count: int) -> list[Path]:
    """The first ``count`` photos of the street trainval split (the test split stays unseen)."""
    names = (street / "trainval.txt").read_text().split()
    return [street / "images" / name for name in names[:count]]


def record_feeds(models: Path, index: Path, photos: list[Path], per_model: int) -> Feeds:
    """Every model's feeds (copies) in full looks at ``photos``, at most ``per_model`` each."""
    feeds: Feeds = defaultdict(list)

    def keep(model: str, given: dict, _ms: float) -> None:
        if len(feeds[model]) < per_model:
            feeds[model].append({name: np.array(value) for name, value in given.items()})

    pipeline = LookPipeline(ModelStore(models, on_run=keep), Catalogs.open([index]))
    for photo in photos:
        pipeline.run(photo.read_bytes())
    return dict(feeds)
