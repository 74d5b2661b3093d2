"""The detector's candidates and the people of every street photo of a split, stored once.

Why: tuning the garment thresholds and the outfit rules replays ``dress_people`` hundreds of
times; running MoveNet and the detector each time would take hours on 2 cores. The candidates
are kept down to ``CANDIDATE_FLOOR``, for the whole photo and for every person's crop, so any
threshold above the floor replays exactly what a look does.

    python -m training.evaluate.garment_cache --split trainval    # runs/garments/trainval.pkl
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

from companion.inference.centernet import CenterNet
from companion.inference.garment_detector import Candidates, GarmentDetector
from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.pipeline.crowd import add_missed_people
from companion.pipeline.decode import decode_image
from companion.pipeline.garments import Region, person_region
from companion.pipeline.look import CROWD_PERSON_SCORE, LOOK_CLASSES
from companion.progress import Progress
from companion.types import Person
from training.data import data_root
from training.data.street import StreetImage, load_street
from training.params import cli, parse
from training.paths import repo_path


@dataclass(frozen=True)
class CachedPhoto:
    """One photo: its labels, its people (as a look finds them) and the detector's candidates."""

    image: StreetImage
    people: list[Person]
    whole: Candidates
    crops: dict[Region, Candidates]  # every person's crop, whether a look would look there or not


def people_of(movenet: MoveNet, centernet: CenterNet, pixels) -> list[Person]:
    """The people of a look with the detector (LookPipeline._people, without their gender)."""
    people = movenet.predict(pixels)
    if len(people) != 1:
        objects = centernet.predict(pixels, labels=LOOK_CLASSES)
        others = [o.box for o in objects if o.label == "person" and o.score >= CROWD_PERSON_SCORE]
        people = add_missed_people(movenet, pixels, people, others)
    return people


def collect(street: Path, split: str, limit: int | None = None) -> list[CachedPhoto]:
    store = ModelStore()
    movenet, centernet, detector = MoveNet(store), CenterNet(store), GarmentDetector(store)
    photos = []
    images = load_street(street, split)[:limit]
    with Progress(len(images), f"street {split}") as bar:
        for item in images:
            pixels = decode_image(item.path.read_bytes()).pixels
            people = people_of(movenet, centernet, pixels)
            size = (pixels.shape[1], pixels.shape[0])
            crops = {}
            for person in people:
                region = person_region(person.box, size)
                if region is not None and region not in crops:
                    left, top, right, bottom = region
                    crops[region] = detector.candidates(pixels[top:bottom, left:right])
            photos.append(CachedPhoto(item, people, detector.candidates(pixels), crops))
            bar.advance()
    return photos


def cache_path(split: str) -> Path:
    return repo_path(Path("runs") / "garments" / f"{split}.pkl")


class _Unpickler(pickle.Unpickler):
    """Finds CachedPhoto here even when it was stored by ``python -m`` (as ``__main__``)."""

    def find_class(self, module: str, name: str) -> type:
        if module == "__main__" and name == "CachedPhoto":
            return CachedPhoto
        return super().find_class(module, name)


def load(split: str) -> list[CachedPhoto]:
    """The stored photos of ``split`` (run this module first)."""
    with cache_path(split).open("rb") as f:
        return _Unpickler(f).load()


@dataclass(kw_only=True)
class CacheParams:
    data: Path = field(default=data_root(), metadata=cli("folder holding street/"))
    split: str = field(default="trainval", metadata=cli(choices=["test", "trainval"]))
    limit: int | None = field(default=None, metadata=cli("only the first N photos"))


def main(argv: list[str] | None = None) -> None:
    params = parse(CacheParams, argv, description=__doc__.split("\n\n")[0])
    photos = collect(params.data / "street", params.split, params.limit)
    path = cache_path(params.split)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(photos, f)
    print(f"{len(photos)} photos -> {path}")


if __name__ == "__main__":
    main()
