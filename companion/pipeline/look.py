"""The look pipeline: image bytes → people, genders, garment regions → catalog matches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from companion.catalog.index import CatalogIndex
from companion.errors import ErrorCode, LookError
from companion.inference.blazeface import BlazeFace
from companion.inference.body_gender import BodyGender
from companion.inference.centernet import BAG_CLASSES, CenterNet
from companion.inference.embedder import DEFAULT_EMBEDDER, Embedded, Embedder, combine_views
from companion.inference.faceres import FaceRes
from companion.inference.garment_detector import GarmentDetector
from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.pipeline.consensus import ConsensusWeights, rerank
from companion.pipeline.crowd import add_missed_people
from companion.pipeline.deadline import Deadline
from companion.pipeline.decode import decode_image
from companion.pipeline.fine_classes import fine_class, fitting_first, street_class
from companion.pipeline.garments import bags, garments_of_people
from companion.pipeline.gender import genders_of
from companion.pipeline.imaging import crop, iou
from companion.pipeline.outfit import RIVALS
from companion.pipeline.regions import garment_regions
from companion.pipeline.search import vote_category
from companion.pipeline.studio import is_studio_shot
from companion.pipeline.subjects import in_background, main_subject_first, reading_order
from companion.types import (
    Box,
    DecodedImage,
    DetectedObject,
    Garment,
    Gender,
    Item,
    Look,
    Match,
    Person,
)

DRESS_VOTE = 0.5  # share of neighbours that must be dresses to call an outfit a dress
CROWD_PERSON_SCORE = 0.4  # CenterNet people worth a second look when MoveNet missed them
LOOK_CLASSES = ("person", *BAG_CLASSES)  # what CenterNet is asked for
FIT_POOL = 3  # with a fine class, search this many times the pool, for enough fitting products
# Fitting products first only for a garment named with at least this confidence: a misnamed
# garment (often a small crop) would push its own type down. Chosen on street trainval boxes
# (mean top-10 fit 0.940 at 0 -> 0.943 at 0.6; docs/evaluation.md "Garments by name"). Only in
# photos unlike the catalog's: a packshot or a studio shot keeps its nearest products' order.
FIT_CONFIDENCE = 0.6
# How garments are found: the trained detector (default: better on every category of the street
# test split, see models/garment-detector/MODEL_CARD.md) or regions from body keypoints (no
# trained detector needed, e.g. for a build that leaves the AGPL-trained detector out).
GARMENT_FINDERS = ("detector", "keypoints")


@dataclass(frozen=True)
class LookRequest:
    """What to look for. ``region`` (pixels of the upright original) restricts the search to a
    box the user drew; ``gender`` overrides the detected one ("female", "male" or "all");
    ``deadline`` (the server sets one) stops a look that takes too long with look_timeout."""

    top_k: int = 10
    region: Box | None = None
    gender: str | None = None
    categories: tuple[str, ...] | None = None  # only these garment categories
    age_group: str = "adult"  # whose products: adult | kids | all (the feed's age_group)
    deadline: Deadline | None = None


class Timer:
    """Times each step; with a deadline, a step does not start once it has passed."""

    def __init__(self, deadline: Deadline | None = None) -> None:
        self.ms: dict[str, float] = {}
        self.deadline = deadline

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.deadline is not None:
            self.deadline.check(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = round(self.ms.get(name, 0.0) + (time.perf_counter() - started) * 1e3, 2)


class LookPipeline:
    """The steps of a look over one wrapper per network (companion.inference, sharing the model
    store it was given) and the catalog index it was given."""

    def __init__(
        self, store: ModelStore, index: CatalogIndex, embedder_name: str = DEFAULT_EMBEDDER,
        garment_finder: str = "detector",
    ) -> None:
        if garment_finder not in GARMENT_FINDERS:
            raise ValueError(f"garment_finder must be one of {GARMENT_FINDERS}")
        self.index = index
        self.movenet, self.centernet = MoveNet(store), CenterNet(store)
        self.blazeface, self.faceres = BlazeFace(store), FaceRes(store)
        self.body_gender = BodyGender(store)
        self.embedder = Embedder(store, embedder_name)
        self.detector = GarmentDetector(store) if garment_finder == "detector" else None
        manifest = self.embedder.manifest
        index.require_embedder(manifest.name, manifest.embedding_sha256)
        self.consensus = ConsensusWeights.of(manifest.extra)
        # Every model starts loading now, two at a time in the background (slowest first); the
        # ones every look needs are waited for, so a missing or damaged one fails here, not
        # mid-look.
        store.preload([m.name for m in (self.embedder, self.detector, self.movenet,
                                        self.faceres, self.body_gender, self.centernet,
                                        self.blazeface) if m is not None])
        for model in (self.detector, self.body_gender):
            if model is not None:
                model.load()

    def run(self, data: bytes, source: str = "", request: LookRequest | None = None) -> Look:
        request = request or LookRequest()
        timer = Timer(request.deadline)
        total = time.perf_counter()
        with timer.step("decode"):
            image = decode_image(data, deadline=request.deadline)
        if request.region is not None:
            look = self._region_look(image, source, request, timer)
        else:
            look = self._full_look(image, source, request, timer)
        look.timings_ms = {**timer.ms, "total": round((time.perf_counter() - total) * 1e3, 2)}
        return look

    def detect(self, image: DecodedImage, timer: Timer | None = None
               ) -> tuple[list[tuple[Person, Gender]], list[Garment]]:
        """People with their gender, and their garments (pixels of ``image.pixels``)."""
        timer = timer or Timer()
        people, genders, objects = self._people(image, timer)
        with_gender = list(zip(people, genders, strict=True))
        if not people:
            return with_gender, []
        if self.detector is not None:
            with timer.step("garments"):
                return with_gender, garments_of_people(self.detector, image.pixels, people)
        height, width = image.pixels.shape[:2]
        with timer.step("regions"):
            garments = [
                g for i, person in enumerate(people)
                for g in garment_regions(person, i, (width, height))
            ]
            garments += bags(objects, people)
        with timer.step("dresses"):
            garments = self._dresses(image, with_gender, garments)
        return with_gender, garments

    def _full_look(self, image: DecodedImage, source: str, request: LookRequest,
                   timer: Timer) -> Look:
        people, garments = self.detect(image, timer)
        whole = _whole_photo(image)
        if not people:  # a product photo: the whole picture is the garment
            return self._search_regions(image, source, [], [whole], request, timer,
                                        catalog_like=True)
        people, garments = main_subject_first(people, garments)
        background = in_background(people)
        featured, known = None, {}
        studio = is_studio_shot(image.pixels)
        if studio:
            garments, featured, known = self._studio_shot(image, garments, timer)
        elif not any(g.person == 0 for g in garments):  # nothing found on the main subject
            garments = [replace(whole, person=0), *garments]
        garments = reading_order(garments, background)
        if featured is not None:
            garments = [featured, *(g for g in garments if g is not featured)]
        if request.categories:
            garments = [g for g in garments if g.category in request.categories]
        look = self._search_regions(image, source, people, garments, request, timer, known,
                                    catalog_like=studio)
        look.background = background
        return look

    def _studio_shot(self, image: DecodedImage, garments: list[Garment], timer: Timer
                     ) -> tuple[list[Garment], Garment, dict[Box, np.ndarray]]:
        """A studio shot is about one product, and the whole photo's category vote says which
        (companion.pipeline.studio). The main subject's garment of that category is featured
        first; when the detector found none, it read the photo wrong (a cropped body, a packshot
        taken for a person), so the whole photo stands for the product, alone.

        Returns the garments, the featured one, and the vectors already embedded (by box).
        """
        with timer.step("embed"):
            photo = self.embedder.embed([image.pixels])
        vector = photo.vectors[0]
        with timer.step("search"):
            category, share = vote_category(self.index, vector)
        own = [g for g in garments if g.person == 0 and g.category == category]
        if not own:
            garments = _renamed_rivals(garments, category)
            own = [g for g in garments if g.person == 0 and g.category == category]
        if own:
            # Asked for as the catalog indexes a worn product: by its crop and its photo together
            # (index build --index-by garment), or by its photo (--index-by photo). The crop
            # names the garment either way.
            featured = max(own, key=lambda g: g.score)
            with timer.step("embed"):
                garment = self.embedder.embed([crop(image.pixels, featured.box)])
            named = _named(featured, garment, 0)
            garments = [named if g is featured else g for g in garments]
            manifest = self.index.manifest
            if manifest.index_by == "garment":
                vector = combine_views(garment.vectors[0], vector, manifest.photo_weight)
            return garments, named, {featured.box: vector}
        whole = _named(replace(_whole_photo(image), category=category, person=0,
                               score=round(share, 4)), photo, 0)
        return [whole], whole, {whole.box: vector}

    def _region_look(self, image: DecodedImage, source: str, request: LookRequest,
                     timer: Timer) -> Look:
        box = _checked_region(request.region, image)
        people, genders, _ = self._people(image, timer)
        owner = max(range(len(people)), key=lambda i: iou(people[i].box, box), default=None)
        if owner is not None and iou(people[owner].box, box) == 0:
            owner = None
        category = request.categories[0] if request.categories else ""
        return self._search_regions(
            image, source, list(zip(people, genders, strict=True)),
            [Garment(category, box, owner)], request, timer,
        )

    def _search_regions(self, image: DecodedImage, source: str,
                        people: list[tuple[Person, Gender]], garments: list[Garment],
                        request: LookRequest, timer: Timer,
                        known: dict[Box, np.ndarray] | None = None,
                        catalog_like: bool = False) -> Look:
        """Each garment's matches; ``known``: vectors already embedded, by box.

        ``catalog_like``: the photo is a packshot or a studio shot, like the catalog's own, so
        the nearest products are the best guide and its garments' names do not reorder them
        (on the monitoring slice's looks, reordering them lost type R@1 0.801 -> 0.792; a street
        photo's crops, unlike any catalog photo, gain from it: docs/evaluation.md)."""
        known = known or {}
        rows: dict[Box, int] = {}
        embedded = Embedded(np.zeros((0, 0), np.float32))
        with timer.step("embed"):
            todo = [g.box for g in garments if g.box not in known]
            if todo:
                embedded = self.embedder.embed([crop(image.pixels, box) for box in todo])
                known = {**known, **dict(zip(todo, embedded.vectors, strict=True))}
                rows = {box: row for row, box in enumerate(todo)}
        items = []
        with timer.step("search"):
            for garment in garments:
                vector = known[garment.box]
                if not garment.category:
                    category, share = vote_category(self.index, vector)
                    garment = replace(garment, category=category, score=round(share, 4))
                if not garment.fine_class and garment.box in rows:
                    garment = _named(garment, embedded, rows[garment.box])
                gender = request.gender
                if gender is None and garment.person is not None:
                    gender = people[garment.person][1].label
                matches = self.matches(garment.category, vector, request.top_k, gender,
                                       request.age_group, garment.fine_class,
                                       0.0 if catalog_like else garment.fine_score)
                items.append(Item(_to_original(garment, image.scale), matches))
        return Look(
            source=source, width=image.width, height=image.height,
            people=[(_person_to_original(p, image.scale), g) for p, g in people], items=items,
        )

    def matches(self, category: str, vector: np.ndarray, top_k: int,
                gender: str | None, age_group: str = "all", shown_class: str = "",
                class_score: float = 0.0) -> list[Match]:
        """The ``top_k`` products a look shows for one garment: picked from the nearest by the
        consensus of their feed labels (companion.pipeline.consensus); with the garment's fine
        class named with at least FIT_CONFIDENCE (``class_score``), the products whose article
        type fits it first (companion.pipeline.fine_classes).
        """
        size = max(top_k, self.consensus.pool)
        fitting = (self.index.class_types.get(street_class(shown_class), frozenset())
                   if class_score >= FIT_CONFIDENCE else frozenset())
        pool = self.index.search(category, vector, size * (FIT_POOL if fitting else 1), gender,
                                 age_group=age_group)
        if not fitting:
            return rerank(pool, self.consensus, top_k)
        first, rest = fitting_first(pool, fitting)
        shown = rerank(first[:size], self.consensus, top_k)
        return shown + rerank(rest[:size], self.consensus, top_k - len(shown))

    def _people(self, image: DecodedImage, timer: Timer
                ) -> tuple[list[Person], list[Gender], list[DetectedObject]]:
        """People, their genders, and CenterNet's objects when they were needed."""
        with timer.step("people"):
            people = self.movenet.predict(image.pixels)
        objects: list[DetectedObject] = []
        # CenterNet (about 100 ms on 2 cores) runs only where it helps: bags for the keypoint
        # regions, and people MoveNet may have missed: in a group, or when it saw nobody.
        if self.detector is None or len(people) != 1:
            with timer.step("objects"):
                objects = self.centernet.predict(image.pixels, labels=LOOK_CLASSES)
            others = [o.box for o in objects
                      if o.label == "person" and o.score >= CROWD_PERSON_SCORE]
            with timer.step("people"):
                people = add_missed_people(self.movenet, image.pixels, people, others)
        with timer.step("gender"):
            genders = self._genders(image, people)
        return people, genders, objects

    def _genders(self, image: DecodedImage, people: list[Person]) -> list[Gender]:
        # Face and body evidence combined (companion.pipeline.gender).
        return genders_of(self, image.pixels, people)

    def _dresses(self, image: DecodedImage, people: list[tuple[Person, Gender]],
                 garments: list[Garment]) -> list[Garment]:
        """Where a person's top and bottom look like one dress to the catalog, merge them."""
        if "dress" not in self.index.categories:
            return garments
        result = list(garments)
        for index in range(len(people)):
            top = next((g for g in garments if g.person == index and g.category == "topwear"), None)
            bottom = next(
                (g for g in garments if g.person == index and g.category == "bottomwear"), None
            )
            if top is None or bottom is None:
                continue
            outfit = (min(top.box[0], bottom.box[0]), top.box[1],
                      max(top.box[2], bottom.box[2]), bottom.box[3])
            vector = self.embedder.predict([crop(image.pixels, outfit)])[0]
            category, share = vote_category(self.index, vector, ["topwear", "bottomwear", "dress"])
            if category == "dress" and share >= DRESS_VOTE:
                result = [g for g in result if g is not top and g is not bottom]
                result.append(Garment("dress", outfit, index, round(share, 4)))
        return result


def _checked_region(region: Box, image: DecodedImage) -> Box:
    """A user-drawn box (original pixels) → pixels of ``image.pixels``, or a bad_region error."""
    x1, y1, x2, y2 = (float(v) for v in region)
    inside = 0 <= x1 < x2 <= image.width + 1 and 0 <= y1 < y2 <= image.height + 1
    if not inside or (x2 - x1) < 8 or (y2 - y1) < 8:
        raise LookError(
            ErrorCode.BAD_REGION,
            f"The region {list(region)} is not a box inside the {image.width}×{image.height} "
            "image (x1 < x2, y1 < y2, at least 8 pixels each way). Draw it again.",
            400,
        )
    return tuple(v / image.scale for v in (x1, y1, x2, y2))


def _scale_box(box: Box, scale: float) -> Box:
    return tuple(round(v * scale, 1) for v in box)


def _renamed_rivals(garments: list[Garment], category: str) -> list[Garment]:
    """``garments`` with the main subject's garments of a rival category of ``category`` (a
    dress for a top or a bottom, and back; companion.pipeline.outfit.RIVALS) renamed
    ``category``: where one box stood for both, the outfit rules kept one name for it, and a
    studio shot's vote knows the product's (a kurta the detector also calls a dress is the top
    the photo sells)."""
    return [replace(g, category=category)
            if g.person == 0 and frozenset({g.category, category}) in RIVALS else g
            for g in garments]


def _named(garment: Garment, embedded: Embedded, row: int) -> Garment:
    """``garment`` with its fine class, from the embedder's answer for its crop (row ``row``)."""
    name, score = fine_class(embedded, row, garment.category)
    return replace(garment, fine_class=name, fine_score=score)


def _whole_photo(image: DecodedImage) -> Garment:
    """The whole picture as one garment of a category still to vote on, nobody's yet."""
    height, width = image.pixels.shape[:2]
    return Garment("", (0.0, 0.0, float(width), float(height)), None, whole_photo=True)


def _to_original(garment: Garment, scale: float) -> Garment:
    return replace(garment, box=_scale_box(garment.box, scale))


def _person_to_original(person: Person, scale: float) -> Person:
    keypoints = person.keypoints.copy()
    keypoints[:, :2] *= scale
    return Person(_scale_box(person.box, scale), person.score, keypoints)
