"""Evaluate garment boxes and gender, the numbers docs/evaluation.md quotes.

The look pipeline's garment boxes (the trained detector by default, or with ``--garments
keypoints`` regions from body keypoints, CenterNet bags and the dress vote) are scored on the
street photos against the labelled boxes: per category, recall at IoU ≥ 0.5 and false positives
per image. Labelled classes are grouped as the product groups them: shirt and jacket → one
topwear box (their union), pants/shorts/skirt → one bottomwear box, shoe → footwear (the pair),
dress, bag. Gender: the face step (BlazeFace + FaceRes) on the data's faces/; "unknown" counts
as wrong for accuracy and is reported as coverage.

    python -m training.evaluate.detection                        # street test split + faces
    python -m training.evaluate.detection --skip-faces --json runs/eval/after.json \
        --before runs/eval/before.json       # and a before/after table of recall and FP/photo
    python -m training.evaluate.detection --garments keypoints   # the keypoint regions instead
    python -m training.evaluate.regions                          # fits keypoint margins on trainval
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from companion.catalog.index import CatalogIndex
from companion.inference.blazeface import BlazeFace
from companion.inference.faceres import FaceRes
from companion.inference.store import ModelStore
from companion.paths import default_index_dir
from companion.pipeline.crops import face_box_with_margin
from companion.pipeline.decode import decode_image
from companion.pipeline.imaging import crop
from companion.pipeline.look import GARMENT_FINDERS, LookPipeline
from companion.progress import Progress
from training.data import data_root
from training.data.people import labelled_photos
from training.data.street import load_street
from training.evaluate.scoring import Scorer, table
from training.log import note, save_report
from training.params import cli, parse


def evaluate_street(pipeline: LookPipeline, street: Path, split: str) -> dict:
    """Recall and false positives per category of the pipeline's garments on one split."""
    images = load_street(street, split)
    scorer = Scorer()
    with Progress(len(images), f"street {split}") as bar:
        for item in images:
            started = time.perf_counter()
            image = decode_image(item.path.read_bytes())
            _, garments = pipeline.detect(image)
            if image.scale != 1.0:  # the labelled boxes are in pixels of the stored photo
                raise SystemExit(f"{item.name} was decoded at scale {image.scale}")
            scorer.add(item, garments, (time.perf_counter() - started) * 1e3)
            bar.advance()
    return {"split": split, **scorer.report()}


def evaluate_faces(store: ModelStore, faces: Path) -> dict:
    rows = labelled_photos(faces)
    blazeface, faceres = BlazeFace(store), FaceRes(store)
    right = unknown = 0
    with Progress(len(rows), "faces") as bar:
        for row in rows:
            pixels = decode_image((faces / row["file"]).read_bytes()).pixels
            box = face_box_with_margin(blazeface, pixels)
            face = pixels if box is None else crop(pixels, box)
            gender = faceres.predict([face])[0]
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


@dataclass(kw_only=True)
class DetectionParams:
    """Which garment finder to score, on which split."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder holding street/ and faces/ (default: {data_root()})"))
    index: Path | None = field(default=None, metadata=cli(
        "catalog index (for the dress check); default: the demo index"))
    split: str = field(default="test", metadata=cli(choices=["test", "trainval"]))
    garments: str = field(default="detector", metadata=cli(
        "how the pipeline finds garments (default: the trained detector)",
        choices=GARMENT_FINDERS))
    skip_faces: bool = field(default=False, metadata=cli())
    json: Path | None = field(default=None, metadata=cli("also write the report here"))
    before: Path | None = field(default=None, metadata=cli(
        "an earlier --json report: print a before/after table per category (on stderr)"))


def main(argv: list[str] | None = None) -> None:
    params = parse(DetectionParams, argv,
                   description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    store = ModelStore()
    pipeline = LookPipeline(store, CatalogIndex(params.index or default_index_dir()),
                            garment_finder=params.garments)
    report = {"garment_finder": params.garments,
              "street": evaluate_street(pipeline, params.data / "street", params.split)}
    if not params.skip_faces:
        report["gender_on_faces"] = evaluate_faces(store, params.data / "faces")
    print(json.dumps(report, indent=2))
    if params.json is not None:
        save_report(params.json, report)
    if params.before is not None:
        earlier = json.loads(params.before.read_text(encoding="utf-8"))
        note(table(earlier["street"], report["street"]))


if __name__ == "__main__":
    main()
