"""The street data set's garment boxes, mapped to the categories the companion searches.

Why one module: the detector's training labels and the evaluation's ground truth must use the
very same mapping, or the evaluation would score the detector against a different question.

The street set has one box per class per photo (one person per photo). ``shirt`` and ``jacket``
both become ``topwear`` and ``pants``/``shorts``/``skirt`` become ``bottomwear``; where a photo has
two source boxes for one category (a jacket over a shirt) their union is the category's box, since
the companion shows one topwear item per person. ``hat`` and ``sunglasses`` are dropped: the
catalog sells neither as a searchable category.

The scoring against those boxes lives here too (``match_count``, ``Scorer``), so that every
evaluation and tuning script counts a hit the same way.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from companion.pipeline.imaging import iou
from companion.pipeline.types import Garment

CATEGORIES: tuple[str, ...] = ("topwear", "bottomwear", "footwear", "dress", "bag")

# street class name -> companion category (None: not detected)
CLASS_MAP: dict[str, str | None] = {
    "shirt": "topwear",
    "jacket": "topwear",
    "pants": "bottomwear",
    "shorts": "bottomwear",
    "skirt": "bottomwear",
    "dress": "dress",
    "shoe": "footwear",
    "bag": "bag",
    "hat": None,
    "sunglasses": None,
}

# Categories where several source boxes in one photo are one garment (merged into their union).
# Bags stay separate: a handbag and a clutch in one photo are two products.
MERGED = frozenset({"topwear", "bottomwear", "footwear", "dress"})


@dataclass(frozen=True)
class GarmentBox:
    category: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the stored image


@dataclass(frozen=True)
class StreetImage:
    name: str  # e.g. "ccp_0003.jpg"
    path: Path
    width: int
    height: int
    garments: tuple[GarmentBox, ...]
    person: tuple[float, float, float, float] | None


def _union(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def read_split(street_dir: Path, split: str) -> list[str]:
    """Image names of ``trainval`` or ``test`` (the fixed split shipped with the data)."""
    if split not in ("trainval", "test"):
        raise ValueError(f"unknown split {split!r}: use trainval or test")
    lines = (street_dir / f"{split}.txt").read_text(encoding="utf-8").split()
    return [line.strip() for line in lines if line.strip()]


def load_street(street_dir: Path, split: str) -> list[StreetImage]:
    """The photos of one split with their mapped garment boxes, in the split file's order."""
    coco = json.loads((street_dir / "annotations.json").read_text(encoding="utf-8"))
    class_names = {c["id"]: c["name"] for c in coco["categories"]}
    by_name = {Path(img["file_name"]).name: img for img in coco["images"]}
    boxes: dict[int, list[tuple[str, tuple[float, float, float, float]]]] = {}
    for ann in coco["annotations"]:
        x, y, w, h = ann["bbox"]
        boxes.setdefault(ann["image_id"], []).append(
            (class_names[ann["category_id"]], (x, y, x + w, y + h))
        )
    images = []
    for name in read_split(street_dir, split):
        info = by_name[name]
        merged: dict[str, tuple[float, float, float, float]] = {}
        separate: list[GarmentBox] = []
        person = None
        for cls, box in boxes.get(info["id"], []):
            if cls == "person":
                person = box
                continue
            category = CLASS_MAP[cls]
            if category is None:
                continue
            if category in MERGED:
                merged[category] = _union(merged[category], box) if category in merged else box
            else:
                separate.append(GarmentBox(category, box))
        garments = [GarmentBox(c, b) for c, b in merged.items()] + separate
        garments.sort(key=lambda g: CATEGORIES.index(g.category))
        images.append(
            StreetImage(
                name=name,
                path=street_dir / info["file_name"],
                width=int(info["width"]),
                height=int(info["height"]),
                garments=tuple(garments),
                person=person,
            )
        )
    return images


def yolo_lines(image: StreetImage) -> list[str]:
    """The image's garments as YOLO label lines (``class cx cy w h``, normalised)."""
    lines = []
    for g in image.garments:
        x1, y1, x2, y2 = g.box
        cx = (x1 + x2) / 2 / image.width
        cy = (y1 + y2) / 2 / image.height
        w = (x2 - x1) / image.width
        h = (y2 - y1) / image.height
        lines.append(f"{CATEGORIES.index(g.category)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def match_count(predicted: list[Garment], truth: list, threshold: float = 0.5) -> int:
    """Labelled boxes found: greedy one-to-one, predictions taken best score first."""
    found, used = 0, set()
    ranked = sorted(range(len(predicted)), key=lambda i: -predicted[i].score)
    for gold in truth:
        best, best_iou = None, threshold
        for i in ranked:
            if i in used:
                continue
            overlap = iou(predicted[i].box, gold)
            if overlap >= best_iou:
                best, best_iou = i, overlap
        if best is not None:
            used.add(best)
            found += 1
    return found


class Scorer:
    """Accumulates recall and false positives per category over images."""

    def __init__(self) -> None:
        self.labelled: dict[str, int] = defaultdict(int)
        self.found: dict[str, int] = defaultdict(int)
        self.predicted: dict[str, int] = defaultdict(int)
        self.images = 0
        self.ms: list[float] = []

    def add(self, image: StreetImage, garments: list[Garment], ms: float) -> None:
        self.images += 1
        self.ms.append(ms)
        for category in CATEGORIES:
            truth = [g.box for g in image.garments if g.category == category]
            mine = [g for g in garments if g.category == category]
            self.labelled[category] += len(truth)
            self.found[category] += match_count(mine, truth)
            self.predicted[category] += len(mine)

    def report(self) -> dict:
        per_category = {}
        for c in CATEGORIES:
            per_category[c] = {
                "labelled": self.labelled[c],
                "recall@0.5": round(self.found[c] / self.labelled[c], 3) if self.labelled[c]
                else None,
                "false_positives_per_image": round(
                    (self.predicted[c] - self.found[c]) / max(self.images, 1), 3),
            }
        found, labelled = sum(self.found.values()), sum(self.labelled.values())
        predicted = sum(self.predicted.values())
        return {
            "images": self.images,
            "per_category": per_category,
            "recall@0.5_all": round(found / labelled, 3) if labelled else None,
            "false_positives_per_image_all": round((predicted - found) / max(self.images, 1), 3),
            "median_ms_per_image": round(statistics.median(self.ms), 1) if self.ms else None,
        }
