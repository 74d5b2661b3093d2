"""Does a person keep their gender when the same photo is served another way?

Why: a web page may serve one photo as JPEG, WebP or PNG, at any quality and size; the look's
gender (and with it which catalog section is searched) must not flip with that. Each street test
photo (never trained on) is re-encoded in memory in every variant below, decoded as the companion
decodes, and run through the look's people step (MoveNet; CenterNet for the people it missed
when it did not see exactly one person, as ``LookPipeline._people``) and gender step
(``companion.pipeline.gender.genders_of``). The people of the first variant (PNG, full size) are
followed into the others by box overlap. Reported: the share of those people whose label
(female / male / unknown) is the same in every variant (a person lost in some variant counts as
not the same), how often each label was given, and the photos whose people changed.

    .venv/bin/python -m training.evaluate.gender_consistency              # 197 photos, ~15 min
    .venv/bin/python -m training.evaluate.gender_consistency --limit 20   # a quick look
    .venv/bin/python -m training.evaluate.gender_consistency --json runs/eval/consistency.json
"""

from __future__ import annotations

import argparse
import io
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
from training.data.street import load_street
from training.log import save_report
from training.params import cli, parse
from training.paths import repo_path

SAME_PERSON_IOU = 0.5


@dataclass(frozen=True)
class Variant:
    """One way of serving the photo: format, quality (None: lossless) and scale of each side."""

    format: str
    quality: int | None
    scale: float

    @property
    def name(self) -> str:
        quality = "" if self.quality is None else f" q{self.quality}"
        return f"{self.format}{quality} ×{self.scale}"

    def encode(self, image: Image.Image) -> bytes:
        if self.scale != 1.0:
            size = (round(image.width * self.scale), round(image.height * self.scale))
            image = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        options = {} if self.quality is None else {"quality": self.quality}
        image.save(buffer, self.format, **options)
        return buffer.getvalue()


# The first is the reference. Every format at the ends of the quality (70–95) and scale (0.5–1.0)
# ranges the issue names, and their middles; ``--full`` adds the rest of the grid.
VARIANTS = (
    Variant("PNG", None, 1.0), Variant("PNG", None, 0.75), Variant("PNG", None, 0.5),
    Variant("JPEG", 95, 1.0), Variant("JPEG", 70, 1.0), Variant("JPEG", 85, 0.75),
    Variant("JPEG", 95, 0.5), Variant("JPEG", 70, 0.5),
    Variant("WEBP", 95, 1.0), Variant("WEBP", 70, 1.0), Variant("WEBP", 85, 0.75),
    Variant("WEBP", 95, 0.5), Variant("WEBP", 70, 0.5),
)
FULL_GRID = tuple(
    Variant(fmt, quality, scale) for fmt in ("JPEG", "WEBP") for quality in (70, 80, 85, 90, 95)
    for scale in (1.0, 0.75, 0.5)
)


@dataclass
class LookPeople:
    """The look's people and gender steps, with the models built once."""

    movenet: MoveNet
    centernet: CenterNet
    gender: GenderModelSet

    @classmethod
    def of(cls, store: ModelStore) -> LookPeople:
        return cls(MoveNet(store), CenterNet(store), GenderModelSet.of(store))

    def run(self, data: bytes) -> list[tuple[Box, str]]:
        """(box in pixels of the decoded image, gender label) of each person."""
        pixels = decode_image(data).pixels
        people: list[Person] = self.movenet.predict(pixels)
        if len(people) != 1:
            others = [o.box for o in self.centernet.predict(pixels, labels=("person",))
                      if o.score >= CROWD_PERSON_SCORE]
            people = add_missed_people(self.movenet, pixels, people, others)
        genders = genders_of(self.gender, pixels, people)
        return [(p.box, g.label) for p, g in zip(people, genders, strict=True)]


def labels_across(steps: LookPeople, image: Image.Image, variants: tuple[Variant, ...]
                  ) -> list[list[str]]:
    """For each person of the first variant, their label in every variant ("lost" where the
    variant has nobody overlapping them)."""
    seen = []
    for variant in variants:
        found = steps.run(variant.encode(image))
        seen.append([(tuple(v / variant.scale for v in box), label) for box, label in found])
    rows = []
    for box, label in seen[0]:
        row = [label]
        for others in seen[1:]:
            best = max(others, key=lambda other: iou(box, other[0]), default=None)
            same = best is not None and iou(box, best[0]) >= SAME_PERSON_IOU
            row.append(best[1] if same else "lost")
        rows.append(row)
    return rows


def evaluate(data: Path, limit: int | None, variants: tuple[Variant, ...]) -> dict:
    images = load_street(data / "street", "test")[:limit]
    steps = LookPeople.of(ModelStore())
    people = same = lost = 0
    labels: Counter[str] = Counter()
    changed = {}
    with Progress(len(images), "street test × variants") as bar:
        for item in images:
            with Image.open(item.path) as opened:
                image = opened.convert("RGB")
            for row in labels_across(steps, image, variants):
                people += 1
                labels.update(row)
                lost += "lost" in row
                if len(set(row)) == 1:
                    same += 1
                else:
                    changed.setdefault(item.name, []).append(
                        {v.name: label for v, label in zip(variants, row, strict=True)})
            bar.advance()
    return {
        "photos": len(images),
        "variants": [v.name for v in variants],
        "people": people,
        "same label in every variant": round(same / people, 4) if people else None,
        "lost in some variant": lost,
        "labels given (person × variant)": dict(labels),
        "unknown share": round(labels["unknown"] / max(1, sum(labels.values())), 4),
        "changed": changed,
    }


@dataclass(kw_only=True)
class ConsistencyParams:
    """Which photos, which variants."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder holding street/ (default: {data_root()})"))
    limit: int | None = field(default=None, metadata=cli("first N test photos only"))
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
    report = evaluate(params.data, params.limit, variants)
    summary = {k: v for k, v in report.items() if k != "changed"}
    print(json.dumps(summary, indent=2))
    if params.json:
        save_report(params.json, report)


if __name__ == "__main__":
    main()
