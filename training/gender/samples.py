"""The people the body-gender classifier learns from, and their crops as the runtime prepares
them (`companion.inference.body_gender.prepare` and `companion.pipeline.crops.body_crop`: training
must see exactly what the companion will feed the model).

Training people (labels are never guessed):
  * ``people/`` train split: 960 pedestrian crops with gender labels (PETA).
  * ``catalog/`` model shots: products of the ``index`` split (never ``query``) whose photo shows a
    person, found with the companion's own MoveNet wrapper; the product's gender is the
    label, unisex products are skipped. Detections are cached.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from companion.inference.body_gender import prepare
from companion.pipeline.crops import body_crop
from companion.progress import Progress
from training.data.catalog import read_feed
from training.data.people import labelled_photos
from training.pixels import read_rgb

INPUT_W, INPUT_H = 128, 256  # people are tall: a 1:2 input wastes less on padding than a square
CROP_MARGIN = 0.08
MIN_PERSON_SCORE = 0.3
MIN_KEYPOINT_SCORE = 0.3


@dataclass(frozen=True)
class Sample:
    """One labelled person: a photo, the person's box in it, and the gender."""

    path: str
    box: tuple[float, float, float, float] | None  # None: the whole image is the person
    male: int
    source: str  # people / catalog


def people_samples(data: Path, split: str) -> list[Sample]:
    """The labelled pedestrian crops of one split of ``people/``."""
    root = data / "people"
    rows = labelled_photos(root, split)
    return [Sample(str(root / r["file"]), None, int(r["gender"] == "male"), "people") for r in rows]


def catalog_people(data: Path, split: str, cache: Path) -> list[Sample]:
    """Catalog products of ``split`` whose photo shows one clear person, labelled by gender."""
    if cache.is_file():
        return [Sample(**{**s, "box": tuple(s["box"])}) for s in json.loads(cache.read_text())]
    from companion.inference.movenet import MoveNet
    from companion.inference.store import ModelStore

    feed = read_feed(data / "catalog")
    rows = feed.gendered_rows_of(split)
    movenet = MoveNet(ModelStore())
    samples: list[Sample] = []
    with Progress(len(rows), "finding people in catalog photos", unit="photos") as bar:
        for row in rows:
            pixels = read_rgb(feed.image(row))
            people = [p for p in movenet.predict(pixels) if p.score >= MIN_PERSON_SCORE]
            if len(people) == 1 and _shows_a_body(people[0].keypoints, people[0].box,
                                                  pixels.shape[0]):
                box = tuple(round(float(v), 1) for v in people[0].box)
                samples.append(Sample(str(feed.image(row)), box, int(row["gender"] == "male"),
                                      "catalog"))
            bar.advance()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([asdict(s) for s in samples]))
    return samples


def _shows_a_body(keypoints: np.ndarray, box: tuple, image_height: int) -> bool:
    """Both shoulders and at least one hip visible, and the person fills a good part of the photo.

    Shoe and bag shots often give a pair of feet or a hand; those say nothing about gender.
    """
    seen = keypoints[:, 2] >= MIN_KEYPOINT_SCORE
    return bool(seen[5] and seen[6] and (seen[11] or seen[12])
                and (box[3] - box[1]) >= 0.4 * image_height)


def load_crop(sample: Sample) -> np.ndarray:
    pixels = read_rgb(sample.path)
    return pixels if sample.box is None else body_crop(pixels, sample.box, CROP_MARGIN)


def augment(crop: np.ndarray, rng: random.Random) -> np.ndarray:
    """Flip, a little crop jitter and brightness: the people set is small."""
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    h, w = crop.shape[:2]
    dx, dy = int(w * rng.uniform(0, 0.08)), int(h * rng.uniform(0, 0.05))
    x0, y0 = rng.randint(0, dx), rng.randint(0, dy)
    crop = crop[y0 : h - (dy - y0), x0 : w - (dx - x0)]
    gain = rng.uniform(0.75, 1.25)
    return np.clip(crop.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def batches(samples: list[Sample], size: int, rng: random.Random | None):
    """Yield (images N×3×H×W, labels N) batches; augmented and shuffled when ``rng`` is given."""
    order = list(range(len(samples)))
    if rng:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        chosen = [samples[i] for i in order[start : start + size]]
        crops = [load_crop(s) for s in chosen]
        if rng:
            crops = [augment(c, rng) for c in crops]
        images = np.stack([prepare(np.ascontiguousarray(c), INPUT_W, INPUT_H) for c in crops])
        yield images, np.array([s.male for s in chosen], dtype=np.float32)
