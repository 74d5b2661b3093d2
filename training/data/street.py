"""The one reader of the street photos' labels (street/annotations.json, trainval.txt, test.txt),
and the categories the companion searches that their garment boxes map to.

Why one module: the detector's training labels and the evaluation's ground truth must use the
very same mapping, or the evaluation would score the detector against a different question.

The street set has one box per class per photo (one person per photo). ``shirt`` and ``jacket``
both become ``topwear`` and ``pants``/``shorts``/``skirt`` become ``bottomwear``; where a photo has
two source boxes for one category (a jacket over a shirt) their union is the category's box, since
the companion shows one topwear item per person. ``hat`` and ``sunglasses`` are dropped: the
catalog sells neither as a searchable category.

The embedder reads the labelled boxes as they are (`read_annotations`): it learns the street
classes themselves. The scoring against the mapped boxes is in training/evaluate/scoring.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CATEGORIES: tuple[str, ...] = ("topwear", "bottomwear", "footwear", "dress", "bag")
# Trainval's first photos, on which the gender step's settings were chosen: a change to that step
# is judged on the photos after them, and no training learns from them.
GENDER_SETTINGS_PHOTOS = 150

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
class LabelledBox:
    """One box of annotations.json as labelled: a street class and x, y, width, height."""

    photo: str  # file name, e.g. "ccp_0003.jpg"
    cls: str  # street class name (shirt, jacket, ..., person)
    bbox: tuple[float, float, float, float]  # x, y, w, h in pixels of the stored photo


@dataclass(frozen=True)
class Annotations:
    """annotations.json: the photos by file name and their labelled boxes, in the file's order."""

    folder: Path
    photos: dict[str, dict]  # file name -> the COCO image entry (id, file_name, width, height)
    boxes: list[LabelledBox]
    by_photo: dict[str, list[LabelledBox]]

    def boxes_of(self, name: str) -> list[LabelledBox]:
        return self.by_photo.get(name, [])

    def path(self, name: str) -> Path:
        return self.folder / self.photos[name]["file_name"]


def read_annotations(street_dir: Path) -> Annotations:
    """street/annotations.json (COCO format), read once."""
    coco = json.loads((street_dir / "annotations.json").read_text(encoding="utf-8"))
    class_names = {c["id"]: c["name"] for c in coco["categories"]}
    names = {img["id"]: Path(img["file_name"]).name for img in coco["images"]}
    boxes = [LabelledBox(names[ann["image_id"]], class_names[ann["category_id"]],
                         tuple(ann["bbox"])) for ann in coco["annotations"]]
    by_photo: dict[str, list[LabelledBox]] = {}
    for box in boxes:
        by_photo.setdefault(box.photo, []).append(box)
    photos = {Path(img["file_name"]).name: img for img in coco["images"]}
    return Annotations(street_dir, photos, boxes, by_photo)


def read_split(street_dir: Path, split: str) -> list[str]:
    """Image names of ``trainval`` or ``test`` (the fixed split shipped with the data)."""
    if split not in ("trainval", "test"):
        raise ValueError(f"unknown split {split!r}: use trainval or test")
    lines = (street_dir / f"{split}.txt").read_text(encoding="utf-8").split()
    return [line.strip() for line in lines if line.strip()]


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


def load_street(street_dir: Path, split: str) -> list[StreetImage]:
    """The photos of one split with their mapped garment boxes, in the split file's order."""
    annotations = read_annotations(street_dir)
    images = []
    for name in read_split(street_dir, split):
        info = annotations.photos[name]
        merged: dict[str, tuple[float, float, float, float]] = {}
        separate: list[GarmentBox] = []
        person = None
        for labelled in annotations.boxes_of(name):
            x, y, w, h = labelled.bbox
            box = (x, y, x + w, y + h)
            if labelled.cls == "person":
                person = box
                continue
            category = CLASS_MAP[labelled.cls]
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
                path=annotations.path(name),
                width=int(info["width"]),
                height=int(info["height"]),
                garments=tuple(garments),
                person=person,
            )
        )
    return images
