"""Fit the keypoint-region margins (``RegionGeometry``) on the street *trainval* split.

People and keypoints are found once and cached under runs/; then each margin is tuned in turn
(coordinate ascent over a few values) to maximise the mean IoU ≥ 0.5 recall of topwear,
bottomwear and footwear. The test split is never looked at: its numbers come from
``python -m training.evaluate.detection``.

    python -m training.evaluate.regions
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.pipeline.decode import decode_image
from companion.pipeline.regions import DEFAULT_GEOMETRY, RegionGeometry, garment_regions
from companion.progress import Progress
from companion.types import Person
from training.data import data_root
from training.data.street import StreetImage, load_street
from training.evaluate.scoring import match_count
from training.params import cli, parse
from training.paths import RUNS

CATEGORIES = ("topwear", "bottomwear", "footwear")
STEPS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)  # multipliers tried for each margin


def cached_people(images: list[StreetImage], cache: Path) -> dict[str, tuple]:
    """name → (best person or None, (width, height)), computed once."""
    if cache.is_file():
        data = np.load(cache, allow_pickle=True)
        return data["people"].item()
    movenet = MoveNet(ModelStore())
    people = {}
    with Progress(len(images), "people") as bar:
        for item in images:
            image = decode_image(item.path.read_bytes())
            found = movenet.predict(image.pixels)
            people[item.name] = (found[0] if found else None, (image.width, image.height))
            bar.advance()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, people=np.array(people, dtype=object))
    return people


def score(geometry: RegionGeometry, people: dict, truth: dict[str, list]) -> float:
    """Mean recall@0.5 of the three keypoint categories; ``truth``: name → labelled boxes."""
    found = dict.fromkeys(CATEGORIES, 0)
    total = dict.fromkeys(CATEGORIES, 0)
    for name, (person, size) in people.items():
        regions = garment_regions(person, 0, size, geometry) if isinstance(person, Person) else []
        for category in CATEGORIES:
            gold = [g.box for g in truth[name] if g.category == category]
            total[category] += len(gold)
            found[category] += match_count([g for g in regions if g.category == category], gold)
    return float(np.mean([found[c] / max(total[c], 1) for c in CATEGORIES]))


@dataclass(kw_only=True)
class RegionsParams:
    """Where the street photos are, and how many rounds of coordinate ascent to run."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder holding street/ (default: {data_root()})"))
    rounds: int = field(default=2, metadata=cli())


def main(argv: list[str] | None = None) -> None:
    params = parse(RegionsParams, argv, description=__doc__.split("\n\n")[0])
    images = load_street(params.data / "street", "trainval")
    truth = {item.name: item.garments for item in images}
    people = cached_people(images, RUNS / "tune_regions" / "people.npz")
    best = DEFAULT_GEOMETRY
    best_score = score(best, people, truth)
    print(f"start: mean recall {best_score:.3f}")
    numeric = [f.name for f in dataclasses.fields(RegionGeometry)
               if isinstance(getattr(best, f.name), float) and f.name != "min_area_fraction"]
    for _ in range(params.rounds):
        for name in numeric:
            for factor in STEPS:
                candidate = dataclasses.replace(best, **{name: getattr(best, name) * factor})
                value = score(candidate, people, truth)
                if value > best_score + 1e-4:
                    best, best_score = candidate, value
        for flag in (False, True):
            candidate = dataclasses.replace(best, wrists_in_top=flag)
            value = score(candidate, people, truth)
            if value > best_score + 1e-4:
                best, best_score = candidate, value
        print(f"round: mean recall {best_score:.3f}")
    print({k: round(v, 3) if isinstance(v, float) else v
           for k, v in dataclasses.asdict(best).items()})


if __name__ == "__main__":
    main()
