"""How every evaluation and tuning run counts a found garment: one scoring for all of them.

Boxes are the street labels mapped to the companion's categories (training/data/street.py); a
labelled box is found by a prediction of its category at IoU >= 0.5, one to one.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from companion.pipeline.imaging import iou
from companion.types import Garment
from training.data.street import CATEGORIES, StreetImage


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
