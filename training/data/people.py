"""The one reader of the gender-labelled photos: people/labels.csv and faces/labels.csv."""

from __future__ import annotations

import csv
from pathlib import Path


def labelled_photos(folder: Path, split: str | None = None) -> list[dict[str, str]]:
    """labels.csv rows (file, gender, and for people/ a split), of one split if given."""
    with (folder / "labels.csv").open(encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if split is None or r["split"] == split]
