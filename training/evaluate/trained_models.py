"""Compare the trained models with what the companion does without them.

Why: a trained model becomes the default only where it is measurably better. Two questions:

1. Garments, on the ``street`` test split (never trained on): the look pipeline's boxes
   (MoveNet keypoints → regions, CenterNet bags, the catalog's dress vote; what ships today)
   against ``models/garment-detector``. Per category: recall at IoU ≥ 0.5 and false positives
   per image; and milliseconds per image for finding garments (the pipeline's people, regions,
   bags and dress steps; the detector's letterbox, ONNX run, decoding and NMS).
2. Gender (``companion.pipeline.gender``): on faces/ the face half of the step (decided share and
   right share of those, on all 900 and on the two thirds FaceRes's settings were not chosen on);
   on held-out people, ``people/`` test (240 pedestrian crops) and the catalog's ``query`` split
   photos that show a person (product gender as the label): face alone, body alone, body forced
   to answer, and the two combined as the look combines them. "unknown" counts as a miss.

Ground truth groups the labelled classes as the product does (``training/data/street.py``).

    .venv/bin/python -m training.evaluate.trained_models                # everything, ~10 min
    .venv/bin/python -m training.evaluate.trained_models --skip-gender \\
        --json runs/eval/detector.json
    .venv/bin/python -m training.evaluate.trained_models --limit 20     # a quick look
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.catalog.index import CatalogIndex
from companion.inference.garment_detector import GarmentDetector
from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.paths import default_index_dir
from companion.pipeline.crops import body_crop, face_box
from companion.pipeline.decode import decode_image
from companion.pipeline.gender import (
    GenderModelSet,
    GenderRule,
    body_log_odds,
    face_evidence,
    genders_of,
)
from companion.pipeline.look import LookPipeline, Timer
from companion.progress import Progress
from companion.types import Person
from training.data import data_root
from training.data.people import labelled_photos
from training.data.street import CATEGORIES, load_street
from training.evaluate.scoring import Scorer
from training.log import save_report
from training.params import cli, parse
from training.paths import repo_path
from training.pixels import read_rgb

GARMENT_STEPS = ("people", "objects", "regions", "dresses")  # the keypoint finder's steps
GENDER_METHODS = ("face", "body", "body_always", "combined")


def evaluate_garments(store: ModelStore, data: Path, index: Path, limit: int | None) -> dict:
    images = load_street(data / "street", "test")[:limit]
    pipeline = LookPipeline(store, CatalogIndex(index), garment_finder="keypoints")
    detector = GarmentDetector(store)
    scorers = {"pipeline": Scorer(), "detector": Scorer()}
    with Progress(len(images), "street test") as bar:
        for item in images:
            image = decode_image(item.path.read_bytes())
            if image.scale != 1.0:
                raise SystemExit(f"{item.name} was decoded at scale {image.scale}; boxes would "
                                 "not be comparable")
            timer = Timer()
            _, garments = pipeline.detect(image, timer)
            ms = sum(timer.ms.get(step, 0.0) for step in GARMENT_STEPS)
            scorers["pipeline"].add(item, garments, ms)
            started = time.perf_counter()
            found = detector.predict(image.pixels)
            scorers["detector"].add(item, found, (time.perf_counter() - started) * 1e3)
            bar.advance()
    return {name: scorer.report() for name, scorer in scorers.items()}


def gender_people(data: Path, limit: int | None) -> list[tuple[np.ndarray, str]]:
    """people/ test: (whole crop, label); each image is one pedestrian."""
    root = data / "people"
    rows = labelled_photos(root, "test")[:limit]
    return [(read_rgb(root / r["file"]), r["gender"]) for r in rows]


STREET_GENDER = Path(__file__).with_name("street_trainval_gender.csv")


def gender_street(data: Path, limit: int | None) -> list[tuple[np.ndarray, str]]:
    """Street trainval people labelled by eye (``street_trainval_gender.csv``: every fourth
    trainval photo, the unclear ones left out): the labelled person's crop with a 10 % margin.
    The gender step's thresholds were chosen on these, so this is not a held-out measure."""
    boxes = {item.name: item.person for item in load_street(data / "street", "trainval")}
    with STREET_GENDER.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:limit]
    out = []
    for row in rows:
        pixels = read_rgb(data / "street" / row["file"])
        out.append((body_crop(pixels, boxes[Path(row["file"]).name], 0.1), row["gender"]))
    return out


def gender_catalog(data: Path, work: Path, limit: int | None) -> list[tuple[np.ndarray, str]]:
    """Catalog ``query`` photos with one clear person: (person crop, product gender)."""
    from training.gender.samples import CROP_MARGIN, catalog_people

    samples = catalog_people(data, "query", work / "catalog_query_people.json")[:limit]
    out = []
    for s in samples:
        pixels = read_rgb(s.path)
        out.append((body_crop(pixels, s.box, CROP_MARGIN), "male" if s.male else "female"))
    return out


def tuning_third(name: str) -> bool:
    """The third of faces/ (by a hash of the file name) that FaceRes's ``log_odds_bias`` and
    ``min_confidence`` were chosen on; the other two thirds were not looked at when choosing."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 3 == 0


def evaluate_faces(store: ModelStore, faces: Path) -> dict:
    """The face half of the gender step on faces/ (tight face photos, no body to see): BlazeFace's
    box (the whole photo when it finds none), FaceRes on its views, the rule's threshold."""
    models = GenderModelSet.of(store)
    rule = GenderRule.of(models)
    counts: dict[str, Counter] = {"all": Counter(), "not tuned on": Counter()}
    rows = labelled_photos(faces)
    with Progress(len(rows), "gender: faces") as bar:
        for row in rows:
            pixels = decode_image((faces / row["file"]).read_bytes()).pixels
            found = models.blazeface.predict(pixels)
            height, width = pixels.shape[:2]
            box = found[0] if found else (0.0, 0.0, float(width), float(height))
            by_face, clear = face_evidence(models.faceres, rule, pixels, box)
            label = rule.decide(by_face, None).label
            for part in ("all", "not tuned on") if not tuning_third(row["file"]) else ("all",):
                counts[part].update(people=1, decided=label != "unknown",
                                    right=label == row["gender"], clear=clear)
            bar.advance()
    return {part: {"faces": c["people"], "decided": round(c["decided"] / c["people"], 3),
                   "right when decided": round(c["right"] / c["decided"], 3),
                   "clear from one view": round(c["clear"] / c["people"], 3)}
            for part, c in counts.items()}


def evaluate_gender(store: ModelStore, people: list[tuple[np.ndarray, str]], name: str) -> dict:
    """Each crop's main person through the look's gender step, and each model alone."""
    models, movenet = GenderModelSet.of(store), MoveNet(store)
    rule = GenderRule.of(models)
    counts: Counter = Counter()
    with Progress(len(people), f"gender: {name}", unit="people") as bar:
        for pixels, truth in people:
            found = movenet.predict(pixels)[:1]
            face = face_box(models.blazeface, pixels, found[0]) if found else None
            by_face = None if face is None else face_evidence(models.faceres, rule, pixels, face)[0]
            height, width = pixels.shape[:2]
            whole = Person((0.0, 0.0, float(width), float(height)), 1.0, np.zeros((17, 3)))
            body = body_log_odds(models.body_gender, pixels, found or [whole])[0]
            answers = {
                "face": rule.decide(by_face, None).label if by_face is not None else "unknown",
                "body": rule.decide(None, body).label,
                "body_always": "male" if body > 0 else "female",
                "combined": genders_of(models, pixels, found)[0].label if found else
                rule.decide(None, body).label,
            }
            for method, label in answers.items():
                counts[f"{method}_right"] += label == truth
                counts[f"{method}_answered"] += label != "unknown"
            bar.advance()
    total = len(people)
    report: dict = {"people": total, "body_min_confidence": models.body_gender.min_confidence}
    for method in GENDER_METHODS:
        right, answered = counts[f"{method}_right"], counts[f"{method}_answered"]
        report[method] = {
            "accuracy (unknown = miss)": round(right / total, 3) if total else None,
            "coverage": round(answered / total, 3) if total else None,
            "accuracy when answered": round(right / answered, 3) if answered else None,
        }
    return report


def print_tables(report: dict) -> None:
    garments = report.get("garments")
    if garments:
        print("\nGarments on street test (recall@0.5 / false positives per image):")
        print(f"{'category':<12}" + "".join(f"{name:>22}" for name in garments))
        for c in CATEGORIES:
            cells = []
            for result in garments.values():
                row = result["per_category"][c]
                recall = "-" if row["recall@0.5"] is None else f"{row['recall@0.5']:.3f}"
                cells.append(f"{recall} / {row['false_positives_per_image']:.2f}")
            print(f"{c:<12}" + "".join(f"{cell:>22}" for cell in cells))
        print(f"{'all':<12}" + "".join(
            f"{r['recall@0.5_all']:.3f} / {r['false_positives_per_image_all']:.2f}".rjust(22)
            for r in garments.values()))
        print(f"{'ms (median)':<12}" + "".join(
            f"{r['median_ms_per_image']:>22}" for r in garments.values()))
    for key, result in report.items():
        if not key.startswith("gender"):
            continue
        if key == "gender_on_faces":  # its own table is the JSON above (decided, right when)
            continue
        print(f"\n{key} ({result['people']} people; accuracy with unknown as a miss / coverage):")
        for method in GENDER_METHODS:
            row = result[method]
            print(f"  {method:<16}{row['accuracy (unknown = miss)']:.3f} / {row['coverage']:.3f}")


@dataclass(kw_only=True)
class TrainedModelsParams:
    """What to compare, on how much data. Paths are relative to the repository root."""

    data: Path = field(default=data_root(), metadata=cli(
        "relative to the repository root (default %(default)s)"))
    index: Path | None = field(default=None, metadata=cli(
        "catalog index for the pipeline's dress vote (default: the demo index)"))
    work: Path = field(default=Path("runs/gender"), metadata=cli(
        "cache of the catalog query people (default %(default)s)"))
    limit: int | None = field(default=None, metadata=cli("first N images/people only"))
    skip_garments: bool = field(default=False, metadata=cli())
    skip_gender: bool = field(default=False, metadata=cli())
    json: Path | None = field(default=None, metadata=cli("also write the report here"))

    def __post_init__(self) -> None:
        self.data, self.work = repo_path(self.data), repo_path(self.work)
        self.index = repo_path(self.index) if self.index else None
        self.json = repo_path(self.json) if self.json else None


def main(argv: list[str] | None = None) -> None:
    params = parse(TrainedModelsParams, argv, description=__doc__.split("\n\n")[0],
                   epilog=__doc__.split("\n\n", 1)[1],
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    data = params.data
    store = ModelStore()
    report: dict = {}
    if not params.skip_garments:
        index = params.index or default_index_dir()
        report["garments"] = evaluate_garments(store, data, index, params.limit)
    if not params.skip_gender:
        report["gender_on_faces"] = evaluate_faces(store, data / "faces")
        report["gender_street_trainval (tuned on)"] = evaluate_gender(
            store, gender_street(data, params.limit), "street trainval")
        report["gender_people_test"] = evaluate_gender(
            store, gender_people(data, params.limit), "people test")
        report["gender_catalog_query"] = evaluate_gender(
            store, gender_catalog(data, params.work, params.limit), "catalog query")
    print(json.dumps(report, indent=2))
    print_tables(report)
    if params.json:
        save_report(params.json, report)


if __name__ == "__main__":
    main()
