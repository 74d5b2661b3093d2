"""Evaluate garment boxes and gender, the numbers the README quotes.

The look pipeline's garment boxes (the trained detector by default, or with ``--garments
keypoints`` regions from body keypoints, CenterNet bags and the dress vote) are scored on the
street photos against the labelled boxes: per category, recall at IoU ≥ 0.5 and false positives
per image. Labelled classes are grouped as the product groups them: shirt and jacket → one
topwear box (their union), pants/shorts/skirt → one bottomwear box, shoe → footwear (the pair),
dress, bag. Gender: the face step (BlazeFace + FaceRes) on ../shared/data/faces; "unknown" counts
as wrong for accuracy and is reported as coverage.

    python scripts/eval_detection.py                        # street test split + faces
    python scripts/eval_detection.py --garments keypoints   # the keypoint regions instead
    python -m scripts.tune_regions                          # fits keypoint margins on trainval
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

from companion.catalog.index import CatalogIndex
from companion.inference.store import ModelStore
from companion.paths import default_index_dir
from companion.pipeline.decode import decode_image
from companion.pipeline.faces import detect_face
from companion.pipeline.gender import classify_faces
from companion.pipeline.imaging import crop, iou
from companion.pipeline.look import GARMENT_FINDERS, LookPipeline
from companion.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
GROUPS = {
    "shirt": "topwear", "jacket": "topwear", "pants": "bottomwear", "shorts": "bottomwear",
    "skirt": "bottomwear", "shoe": "footwear", "dress": "dress", "bag": "bag",
}
MERGED = ("topwear", "bottomwear")  # one box per person: the union of the labelled pieces
CATEGORIES = ("topwear", "bottomwear", "footwear", "dress", "bag")


def labelled_boxes(street: Path) -> tuple[dict[str, dict[str, list]], dict[str, int]]:
    """file name → category → boxes (x1, y1, x2, y2), and file name → image id."""
    data = json.loads((street / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    files = {i["id"]: Path(i["file_name"]).name for i in data["images"]}
    boxes: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for ann in data["annotations"]:
        category = GROUPS.get(names[ann["category_id"]])
        if category is None:
            continue
        x, y, w, h = ann["bbox"]
        boxes[files[ann["image_id"]]][category].append((x, y, x + w, y + h))
    for per_image in boxes.values():
        for category in MERGED:
            if per_image.get(category):
                group = per_image[category]
                per_image[category] = [(min(b[0] for b in group), min(b[1] for b in group),
                                        max(b[2] for b in group), max(b[3] for b in group))]
    return boxes, {v: k for k, v in files.items()}


def match(predicted: list, labelled: list, threshold: float = 0.5) -> int:
    """Greedy one-to-one matching by IoU; returns the number of labelled boxes found."""
    found, used = 0, set()
    for truth in labelled:
        scores = [(iou(p, truth), i) for i, p in enumerate(predicted) if i not in used]
        best = max(scores, default=(0.0, -1))
        if best[0] >= threshold:
            used.add(best[1])
            found += 1
    return found


def evaluate_street(pipeline: LookPipeline, street: Path, split: str) -> dict:
    names = (street / f"{split}.txt").read_text().split()
    truth, _ = labelled_boxes(street)
    labelled = defaultdict(int)
    found = defaultdict(int)
    predicted = defaultdict(int)
    milliseconds = []
    with Progress(len(names), f"street {split}") as bar:
        for name in names:
            started = time.perf_counter()
            image = decode_image((street / "images" / name).read_bytes())
            _, garments = pipeline.detect(image)
            milliseconds.append((time.perf_counter() - started) * 1e3)
            for category in CATEGORIES:
                boxes = [tuple(v * image.scale for v in g.box)
                         for g in garments if g.category == category]
                gold = truth[name].get(category, [])
                hits = match(boxes, gold)
                labelled[category] += len(gold)
                found[category] += hits
                predicted[category] += len(boxes)
            bar.advance()
    images = len(names)
    return {
        "split": split,
        "images": images,
        "per_category": {
            c: {
                "labelled": labelled[c],
                "recall@0.5": round(found[c] / labelled[c], 3) if labelled[c] else None,
                "false_positives_per_image": round((predicted[c] - found[c]) / images, 3),
            }
            for c in CATEGORIES
        },
        "median_ms_per_image": round(statistics.median(milliseconds), 1),
    }


def evaluate_faces(store: ModelStore, faces: Path) -> dict:
    with (faces / "labels.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    right = unknown = 0
    with Progress(len(rows), "faces") as bar:
        for row in rows:
            pixels = decode_image((faces / row["file"]).read_bytes()).pixels
            found = detect_face(store, pixels)
            face = crop(pixels, _with_margin(found[0])) if found else pixels
            gender = classify_faces(store, [face])[0]
            unknown += gender.label == "unknown"
            right += gender.label == row["gender"]
            bar.advance()
    decided = len(rows) - unknown
    return {
        "faces": len(rows),
        "accuracy (unknown counts wrong)": round(right / len(rows), 3),
        "accuracy when decided": round(right / decided, 3) if decided else None,
        "coverage (not unknown)": round(decided / len(rows), 3),
    }


def _with_margin(box, margin: float = 0.25):
    x1, y1, x2, y2 = box
    pad = margin * max(x2 - x1, y2 - y1)
    return (x1 - pad, y1 - pad, x2 + pad, y2 + pad)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "data")
    parser.add_argument("--index", type=Path, default=None, help="catalog index (for the dress "
                        "check); default: the demo index")
    parser.add_argument("--split", default="test", choices=["test", "trainval"])
    parser.add_argument("--garments", choices=GARMENT_FINDERS, default="detector",
                        help="how the pipeline finds garments (default: the trained detector)")
    parser.add_argument("--skip-faces", action="store_true")
    args = parser.parse_args()
    store = ModelStore()
    pipeline = LookPipeline(store, CatalogIndex(args.index or default_index_dir()),
                            garment_finder=args.garments)
    report = {"garment_finder": args.garments,
              "street": evaluate_street(pipeline, args.data / "street", args.split)}
    if not args.skip_faces:
        report["gender_on_faces"] = evaluate_faces(store, args.data / "faces")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
