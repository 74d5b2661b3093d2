"""How every evaluation and tuning run counts a found garment: one scoring for all of them.

Boxes are the street labels mapped to the companion's categories (training/data/street.py); a
labelled box is found by a prediction of its category at IoU >= 0.5, one to one.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from companion.pipeline.imaging import iou
from companion.pipeline.outfit import SINGLE
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
        self.doubled: dict[str, int] = defaultdict(int)  # rows beyond one per person, by category
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
        if garments:
            self._count_doubled(garments)

    def _count_doubled(self, garments: list[Garment]) -> None:
        """Rows beyond the first of one category for one person (a garment shown twice, or
        layers the labels merge); bags are each their own garment and do not count."""
        rows = Counter((g.person, g.category) for g in garments
                       if g.person is not None and g.category in SINGLE)
        for (_, category), count in rows.items():
            self.doubled[category] += count - 1

    def report(self) -> dict:
        per_category = {}
        for c in CATEGORIES:
            per_category[c] = {
                "labelled": self.labelled[c],
                "recall@0.5": round(self.found[c] / self.labelled[c], 3) if self.labelled[c]
                else None,
                "false_positives_per_image": round(
                    (self.predicted[c] - self.found[c]) / max(self.images, 1), 3),
                "extra_rows_per_person": self.doubled[c],
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


def table(before: dict, after: dict) -> str:
    """Recall and false positives per photo per category, before → after (markdown)."""
    lines = ["| category | labelled | recall before | recall after | FP/photo before | "
             "FP/photo after | extra rows before | extra rows after |",
             "|---|---|---|---|---|---|---|---|"]
    for c in CATEGORIES:
        b, a = before["per_category"][c], after["per_category"][c]
        lines.append(f"| {c} | {b['labelled']} | {b['recall@0.5']} | {a['recall@0.5']} | "
                     f"{b['false_positives_per_image']} | {a['false_positives_per_image']} | "
                     f"{b.get('extra_rows_per_person', '')} | "
                     f"{a.get('extra_rows_per_person', '')} |")
    lines.append(f"| all | | {before['recall@0.5_all']} | {after['recall@0.5_all']} | "
                 f"{before['false_positives_per_image_all']} | "
                 f"{after['false_positives_per_image_all']} | | |")
    return "\n".join(lines)
