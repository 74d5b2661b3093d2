"""The one reader of the catalog: feed.tsv (products and their labels) and split.tsv.

split.tsv gives every product id a split: `index` (what a look searches, and what training may
see) or `query` (held out: the evaluation's queries, never trained on).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

# The embedder's and the label heads' monitoring slice: this share of the index rows, picked by
# held_out(id, MONITORING_SALT, ...), is never trained on; it chooses settings (part weights,
# consensus, look settings) so that the query rows only ever measure.
MONITORING_SALT = "embedder-val"
MONITORING_SHARE = 0.06


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@dataclass(frozen=True)
class Feed:
    """feed.tsv's rows in file order (column name -> text) and split.tsv's id -> split."""

    folder: Path
    rows: list[dict[str, str]]
    split: dict[str, str]

    def rows_of(self, split: str) -> list[dict[str, str]]:
        """The products of one split, in feed order."""
        return [r for r in self.rows if self.split.get(r["id"]) == split]

    def gendered_rows_of(self, split: str) -> list[dict[str, str]]:
        """The products of one split made for women or for men (not unisex, not unlabelled):
        the ones whose photo's person can be labelled by the feed's gender."""
        return [r for r in self.rows_of(split) if r["gender"] in ("male", "female")]

    def ids_of(self, split: str) -> set[str]:
        """The ids that split.tsv puts in `split`."""
        return {i for i, s in self.split.items() if s == split}

    def image(self, row: dict[str, str]) -> Path:
        """Where a product's photo is."""
        return self.folder / row["image_link"]

    def monitoring_rows(self, share: float = MONITORING_SHARE) -> list[dict[str, str]]:
        """The index rows the trained models never saw (their monitoring slice), in feed order."""
        return [r for r in self.rows_of("index") if held_out(r["id"], MONITORING_SALT, share)]


def held_out(name: str, salt: str, fraction: float) -> bool:
    """Stable pseudo-random pick of a monitoring share (by a hash, the same in every run)."""
    return hashlib.sha256(f"{salt}:{name}".encode()).digest()[0] / 256 < fraction


def read_feed(folder: Path) -> Feed:
    """catalog/ (the folder holding feed.tsv, split.tsv and the photos)."""
    split = {r["id"]: r["split"] for r in _rows(folder / "split.tsv")}
    return Feed(folder, _rows(folder / "feed.tsv"), split)
