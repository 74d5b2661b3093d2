"""Does a person keep their gender when the same photo is served another way?

Why: a web page may serve one photo as JPEG, WebP or PNG, at any quality and size; the look's
gender (and with it which catalog section is searched) must not flip with that. Each street test
photo (never trained on) is re-encoded in memory in every variant below, decoded as the companion
decodes, and run through the look's people step (MoveNet; CenterNet for the people it missed
when it did not see exactly one person, as ``LookPipeline._people``) and gender step
(``companion.pipeline.gender.genders_of``). Each photo's labelled person (the street set's
person box) is followed into every variant by box overlap. Reported: the share of those people
whose label (female / male / unknown) is the same in every variant (a person the people step
lost in some variant counts as not the same; the share among those found everywhere is given
too), how often each label was given, and (in --json) the photos whose label changed.

    .venv/bin/python -m training.evaluate.gender_consistency              # 197 photos, ~15 min
    .venv/bin/python -m training.evaluate.gender_consistency --limit 20   # a quick look
    .venv/bin/python -m training.evaluate.gender_consistency --json runs/eval/consistency.json
    .venv/bin/python -m training.evaluate.gender_consistency --split trainval --limit 150  # choose
    .venv/bin/python -m training.evaluate.gender_consistency --split trainval --skip 150 --limit 200
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from companion.inference.centernet import CenterNet
from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.pipeline.crowd import add_missed_people
from companion.pipeline.decode import decode_image
from companion.pipeline.gender import GenderModelSet, genders_of
from companion.pipeline.imaging import iou
from companion.pipeline.look import CROWD_PERSON_SCORE
from companion.progress import Progress
from companion.types import Box, Person
from training.data import data_root
from training.data.served import FULL_GRID, VARIANTS, Variant
from training.data.street import GENDER_SETTINGS_PHOTOS, StreetImage, load_street
from training.log import save_report
from training.params import cli, parse
from training.paths import repo_path

SAME_PERSON_IOU = 0.5


@dataclass
class LookPeople:
    """The look's people and gender steps, with the models built once."""

    movenet: MoveNet
    centernet: CenterNet
    gender: GenderModelSet

    @classmethod
    def of(cls, store: ModelStore) -> LookPeople:
        return cls(MoveNet(store), CenterNet(store), GenderModelSet.of(store))

    def label_of(self, data: bytes, scale: float, target: Box) -> str:
        """The gender label of the person the look finds over ``target`` (pixels of the photo
        before scaling), or "lost" when it finds nobody there."""
        pixels = decode_image(data).pixels
        people: list[Person] = self.movenet.predict(pixels)
        if len(people) != 1:
            others = [o.box for o in self.centernet.predict(pixels, labels=("person",))
                      if o.score >= CROWD_PERSON_SCORE]
            people = add_missed_people(self.movenet, pixels, people, others)
        overlap = [iou(target, tuple(v / scale for v in p.box)) for p in people]
        if not people or max(overlap) < SAME_PERSON_IOU:
            return "lost"
        # One person asked: the step decides each person on their own evidence.
        person = people[int(max(range(len(people)), key=overlap.__getitem__))]
        return genders_of(self.gender, pixels, [person])[0].label


def photos_of(data: Path, split: str, skip: int = 0, limit: int | None = None
              ) -> list[StreetImage]:
    """The split's photos with a labelled person: ``limit`` of them after the first ``skip``."""
    end = None if limit is None else skip + limit
    return [i for i in load_street(data / "street", split)[skip:end] if i.person is not None]


def evaluate(data: Path, limit: int | None, variants: tuple[Variant, ...],
             split: str = "test", skip: int = 0) -> dict:
    images = photos_of(data, split, skip, limit)
    steps = LookPeople.of(ModelStore())
    labels: Counter[str] = Counter()
    changed, lost = {}, []
    with Progress(len(images), f"street {split} × variants") as bar:
        for item in images:
            with Image.open(item.path) as opened:
                image = opened.convert("RGB")
            row = [steps.label_of(v.encode(image), v.scale, item.person) for v in variants]
            labels.update(row)
            if "lost" in row:
                lost.append(item.name)
            if len(set(row)) > 1:
                changed[item.name] = {v.name: label for v, label in zip(variants, row,
                                                                          strict=True)}
            bar.advance()
    people = len(images)
    found = people - len(lost)
    steady_found = sum(1 for i in images if i.name not in changed)
    return {
        "photos (labelled people)": people,
        "variants": [v.name for v in variants],
        "same label in every variant": round(steady_found / people, 4) if people else None,
        "people found in every variant": found,
        "same label, of those found in every variant": (
            round(steady_found / found, 4) if found else None),
        "labels given (person × variant)": dict(labels),
        "unknown share": round(labels["unknown"] / max(1, sum(labels.values())), 4),
        "lost": lost,
        "changed": changed,
    }


@dataclass(kw_only=True)
class ConsistencyParams:
    """Which photos, which variants."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder holding street/ (default: {data_root()})"))
    split: str = field(default="test", metadata=cli(
        "street split: test to measure, trainval to choose a setting (default %(default)s)",
        choices=["test", "trainval"]))
    limit: int | None = field(default=None, metadata=cli(
        "N photos of the split only (after --skip)"))
    skip: int = field(default=0, metadata=cli(
        f"leave out the split's first N photos: trainval's first {GENDER_SETTINGS_PHOTOS} chose "
        "the gender step's settings, so a change is judged fairly on the photos after them"))
    full: bool = field(default=False, metadata=cli(
        "every JPEG/WebP quality 70, 80, 85, 90, 95 at scales 1, 0.75, 0.5 (33 variants)"))
    json: Path | None = field(default=None, metadata=cli("also write the report here"))

    def __post_init__(self) -> None:
        self.data = repo_path(self.data)
        self.json = repo_path(self.json) if self.json else None


def main(argv: list[str] | None = None) -> None:
    params = parse(ConsistencyParams, argv, description=__doc__.split("\n\n")[0],
                   epilog=__doc__.split("\n\n", 1)[1],
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    variants = VARIANTS[:3] + FULL_GRID if params.full else VARIANTS
    report = evaluate(params.data, params.limit, variants, params.split, params.skip)
    summary = {k: v for k, v in report.items() if k not in ("changed", "lost")}
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if params.json:
        save_report(params.json, report)


if __name__ == "__main__":
    main()
