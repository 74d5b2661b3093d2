"""How well a look names its garments: the fine class of each found box, on the street photos.

Each garment the look finds (``LookPipeline.detect``, the detector's boxes) that overlaps a
labelled box of its category (IoU ≥ 0.5) is scored against that box's class: a topwear box is
a shirt or a jacket, a bottomwear box pants, shorts or a skirt (when several labelled boxes
overlap it, the one it overlaps most; a jacket over a shirt is labelled as both and the
detector's topwear box, trained on their union, usually covers the jacket). The name comes
from the embedder's street-class head on the found crop, as the look names it
(companion.pipeline.fine_classes). Dresses, shoes and bags have one class each and are
left out of the accuracy. Never tuned on: the class head was trained on trainval boxes.

    python -m training.evaluate.fine_classes                 # street test split
    python -m training.evaluate.fine_classes --split trainval
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from companion.catalog.index import CatalogIndex
from companion.inference.store import ModelStore
from companion.paths import default_index_dir
from companion.pipeline.decode import decode_image
from companion.pipeline.fine_classes import CLASSES_OF, fine_class, street_class
from companion.pipeline.imaging import crop, iou
from companion.pipeline.look import LookPipeline
from companion.progress import Progress
from training.data import data_root
from training.data.street import read_annotations, read_split
from training.log import save_report
from training.params import cli, parse

MATCH_IOU = 0.5
NAMED = {c: category for category, classes in CLASSES_OF.items() if len(classes) > 1
         for c in classes}  # the classes there is a choice between, and their category


def truth_of(box: tuple[float, ...], category: str, labelled: list) -> str | None:
    """The class of the labelled box of ``category`` that ``box`` overlaps most (IoU ≥ 0.5)."""
    best, best_iou = None, MATCH_IOU
    for label in labelled:
        if NAMED.get(label.cls) != category:
            continue
        x, y, w, h = label.bbox
        overlap = iou(box, (x, y, x + w, y + h))
        if overlap >= best_iou:
            best, best_iou = label.cls, overlap
    return best


def evaluate(pipeline: LookPipeline, street: Path, split: str) -> dict:
    annotations = read_annotations(street)
    names = read_split(street, split)
    confusion: dict[str, Counter] = defaultdict(Counter)
    with Progress(len(names), f"street {split}", unit="photos") as bar:
        for name in names:
            image = decode_image(annotations.path(name).read_bytes())
            if image.scale != 1.0:  # the labelled boxes are in pixels of the stored photo
                raise SystemExit(f"{name} was decoded at scale {image.scale}")
            _, garments = pipeline.detect(image)
            scored = [(g, truth) for g in garments if g.category in set(NAMED.values())
                      if (truth := truth_of(g.box, g.category, annotations.boxes_of(name)))]
            if scored:
                embedded = pipeline.embedder.embed([crop(image.pixels, g.box) for g, _ in scored])
                for row, (garment, truth) in enumerate(scored):
                    named, _ = fine_class(embedded, row, garment.category)
                    confusion[truth][street_class(named)] += 1
            bar.advance()
    per_class = {cls: {"boxes": sum(c.values()), "right": round(c[cls] / sum(c.values()), 3),
                       "named as": dict(c.most_common())}
                 for cls, c in sorted(confusion.items())}
    total = sum(row["boxes"] for row in per_class.values())
    right = sum(confusion[cls][cls] for cls in confusion)
    return {"split": split, "found boxes scored": total,
            "accuracy": round(right / total, 3) if total else None, "per class": per_class}


@dataclass(kw_only=True)
class FineClassParams:
    data: Path = field(default=data_root(), metadata=cli(
        f"folder with street/ (default: {data_root()})"))
    split: str = field(default="test", metadata=cli(
        "street split to score", choices=["test", "trainval"]))
    index: Path | None = field(default=None, metadata=cli(
        "catalog index the pipeline opens (only its embedder check matters)"))
    json: Path | None = field(default=None, metadata=cli("also write the report here"))


def main(argv: list[str] | None = None) -> int:
    params = parse(FineClassParams, argv, description=__doc__)
    pipeline = LookPipeline(ModelStore(), CatalogIndex(params.index or default_index_dir()))
    report = evaluate(pipeline, params.data.resolve() / "street", params.split)
    print(f"Fine class of found boxes, street {report['split']}: accuracy {report['accuracy']} "
          f"over {report['found boxes scored']} boxes")
    for cls, row in report["per class"].items():
        print(f"  {cls:<7} {row['boxes']:>4} boxes  right {row['right']:.3f}  "
              f"named as {row['named as']}")
    if params.json:
        save_report(params.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
