"""The faces the student learns from, the teacher's answers on the clean photo, and the same face
served another way, cut into the look's four views."""

from __future__ import annotations

import hashlib
import pickle
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from companion.inference.blazeface import BlazeFace
from companion.inference.faceres import FaceRes
from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.pipeline.crops import face_box, widened
from companion.pipeline.decode import decode_image
from companion.pipeline.gender import CANONICAL_FACE_WIDTH, first_view, log_odds, other_views
from companion.pipeline.imaging import clip_box
from companion.progress import Progress
from companion.types import Box
from training.data.catalog import read_feed
from training.data.served import Variant
from training.data.street import GENDER_SETTINGS_PHOTOS, load_street

CONTEXT = 1.5  # of the face's longer side, around it: the pixels a served variant re-encodes
FORMATS = ("PNG", "JPEG", "WEBP")
QUALITY = (60, 95)
SCALE = (0.45, 1.0)
JITTER = 0.05  # of the face's width: how far BlazeFace's box moves on re-encoded pixels


@dataclass(frozen=True)
class Face:
    """A face in a clean photo and the teacher's log-odds of "male" for its four views."""

    path: str
    box: Box  # BlazeFace's box, in pixels of the decoded photo
    targets: tuple[float, float, float, float]  # first view, its mirror, canonical, its mirror


def catalog_genders(data: Path) -> dict[str, str]:
    """The feed's gender of each catalog index photo that is a woman's or a man's product."""
    feed = read_feed(data / "catalog")
    return {str(feed.image(row)): row["gender"] for row in feed.gendered_rows_of("index")}


def with_label_floor(faces: list[Face], genders: dict[str, str], floor: float) -> list[Face]:
    """``faces`` with the teacher's answers pulled to at least ``floor`` log-odds the way the
    photo's product gender says (``genders``: photo path → "male"/"female"); a face in a photo
    without one keeps the teacher's answers. The teacher is right more often than not, but on
    small, compressed faces it hesitates where the product's label knows."""
    pulled = []
    for face in faces:
        gender = genders.get(face.path)
        if gender is None:
            pulled.append(face)
            continue
        sign = 1.0 if gender == "male" else -1.0
        targets = tuple(sign * max(sign * t, floor) for t in face.targets)
        pulled.append(Face(face.path, face.box, targets))
    return pulled


def held_out(path: str) -> bool:
    """A fixed tenth of the faces (by a hash of the file), to watch the training."""
    return hashlib.sha256(Path(path).name.encode()).digest()[0] < 26


def photo_paths(data: Path, limit: int | None) -> list[Path]:
    """Street trainval after the photos that chose the gender step's settings, then the
    catalog's index split."""
    trainval = load_street(data / "street", "trainval")
    street = [item.path for item in trainval[GENDER_SETTINGS_PHOTOS:]]
    feed = read_feed(data / "catalog")
    catalog = [feed.image(row) for row in feed.rows_of("index")]
    return (street + catalog)[:limit]


def collect(paths: list[Path], store: ModelStore, canonical_width: float) -> list[Face]:
    """Every face the look would find in ``paths``, with the teacher's answers."""
    movenet, blazeface, teacher = MoveNet(store), BlazeFace(store), FaceRes(store)
    faces = []
    with Progress(len(paths), "finding faces", unit="photos") as bar:
        for path in paths:
            pixels = photo_pixels(path.read_bytes())
            for person in movenet.predict(pixels):
                box = face_box(blazeface, pixels, person)
                if box is None:
                    continue
                targets = log_odds(teacher.male_probability(
                    views_of(pixels, box, canonical_width)))
                faces.append(Face(str(path), tuple(float(v) for v in box),
                                  tuple(float(t) for t in targets)))
            bar.advance()
    return faces


def cached_faces(data: Path, store: ModelStore, work: Path, limit: int | None) -> list[Face]:
    """The faces and the teacher's answers, from ``work`` when this FaceRes stored them there
    (the file is named by its sha256: another teacher's answers are never reused)."""
    faceres = FaceRes(store)
    teacher = faceres.manifest.sha256[:12]
    cache = work / (f"faces-{teacher}.pkl" if limit is None else f"faces-{teacher}-{limit}.pkl")
    if cache.is_file():
        with cache.open("rb") as f:
            return pickle.load(f)
    faces = collect(photo_paths(data, limit), store,
                    faceres.settings.number("canonical_face_width", CANONICAL_FACE_WIDTH))
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("wb") as f:
        pickle.dump(faces, f)
    return faces


def served(pixels: np.ndarray, box: Box, rng: random.Random) -> tuple[np.ndarray, Box]:
    """The face's surroundings as a page might serve them (a format, a quality, a scale) and
    the face's box in those pixels, moved a little as a new detection would be."""
    height, width = pixels.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in clip_box(widened(box, CONTEXT), width, height))
    region = Image.fromarray(np.ascontiguousarray(pixels[y1:y2, x1:x2]))
    scale = rng.uniform(*SCALE)
    fmt = rng.choice(FORMATS)
    variant = Variant(fmt, None if fmt == "PNG" else rng.randint(*QUALITY), scale)
    out = photo_pixels(variant.encode(region))
    sx, sy = out.shape[1] / (x2 - x1), out.shape[0] / (y2 - y1)
    face_w = (box[2] - box[0]) * sx
    dx, dy = (rng.uniform(-JITTER, JITTER) * face_w for _ in range(2))
    grow = rng.uniform(-JITTER, JITTER) * face_w
    moved = ((box[0] - x1) * sx + dx - grow, (box[1] - y1) * sy + dy - grow,
             (box[2] - x1) * sx + dx + grow, (box[3] - y1) * sy + dy + grow)
    return out, moved


def views_of(pixels: np.ndarray, box: Box, canonical_width: float) -> list[np.ndarray]:
    """The look's four views of the face at ``box``."""
    view = first_view(pixels, box)
    return [view, *other_views(view, box[2] - box[0], canonical_width)]


def view_of(pixels: np.ndarray, box: Box, which: int, canonical_width: float) -> np.ndarray:
    """View ``which`` (0-3, as in ``views_of``) alone: the first needs no other cut."""
    view = first_view(pixels, box)
    return view if which == 0 else other_views(view, box[2] - box[0], canonical_width)[which - 1]


def photo_pixels(data: bytes) -> np.ndarray:
    """A photo's (or a served variant's) pixels as the look decodes them (a small variant too)."""
    return decode_image(data, min_side=1).pixels
