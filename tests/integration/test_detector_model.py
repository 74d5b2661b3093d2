"""The shipped garment detector: loads through its manifest and finds garments in real photos.

Checked on street *test* photos, which training never saw. The thresholds sit well below what
``python -m training.evaluate.trained_models`` measured on the whole test split (see
models/garment-detector/MODEL_CARD.md), so they fail on a broken model or broken
pre/post-processing, not on noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from companion.inference.garment_detector import GarmentDetector, decode
from companion.inference.postprocess import nms
from companion.inference.preprocess import letterbox
from companion.inference.store import ModelStore
from companion.pipeline.imaging import iou
from tests.support.data import STREET, requires_data
from training.data.street import load_street

pytestmark = requires_data
SAMPLE = 40  # test photos, every 5th of the split


@pytest.fixture(scope="module")
def detector() -> GarmentDetector:
    return GarmentDetector(ModelStore())


@pytest.fixture(scope="module")
def test_photos():
    images = load_street(STREET, "test")[::5][:SAMPLE]
    return [(im, np.asarray(Image.open(im.path).convert("RGB"))) for im in images]


def _recall(detector, photos, category: str) -> float:
    found = labelled = 0
    for image, pixels in photos:
        truth = [g.box for g in image.garments if g.category == category]
        if not truth:
            continue
        boxes = [g.box for g in detector.predict(pixels) if g.category == category]
        labelled += len(truth)
        found += sum(any(iou(b, t) >= 0.5 for b in boxes) for t in truth)
    return found / labelled


def test_the_manifest_describes_the_five_categories_and_a_0_to_1_input(detector):
    manifest = detector.manifest
    assert manifest.task == "garment-detection"
    assert detector.labels == ["topwear", "bottomwear", "footwear", "dress", "bag"]
    assert manifest.input.value_range == (0, 1)
    width, height = detector.size
    assert manifest.input.shape == [1, 3, height, width]


@pytest.mark.parametrize(("category", "minimum"), [
    ("topwear", 0.8), ("bottomwear", 0.6), ("footwear", 0.6), ("dress", 0.2), ("bag", 0.1),
])
def test_garments_in_held_out_street_photos_are_found(detector, test_photos, category, minimum):
    assert _recall(detector, test_photos, category) >= minimum


def test_boxes_lie_inside_the_photo_and_are_ranked_by_score(detector, test_photos):
    for _, pixels in test_photos[:10]:
        found = detector.predict(pixels)
        height, width = pixels.shape[:2]
        for g in found:
            assert 0 <= g.box[0] < g.box[2] <= width and 0 <= g.box[1] < g.box[3] <= height
        assert [g.score for g in found] == sorted((g.score for g in found), reverse=True)


def test_a_blank_wall_has_no_garments(detector):
    assert detector.predict(np.full((640, 420, 3), 128, dtype=np.uint8)) == []


def test_pixels_in_the_wrong_range_find_far_less(detector, test_photos):
    """The model wants 0..1; fed 0..255 it must not look as if it still worked."""
    model = detector.load()
    name = model.manifest.input.name
    hits = {"right": 0, "wrong": 0}
    for image, pixels in test_photos:
        square, placement = letterbox(pixels, detector.size, fill=114, centre=True)
        tensor = (square.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        truth = [g.box for g in image.garments if g.category == "topwear"]
        for key, scale in (("right", 1.0), ("wrong", 255.0)):
            raw = next(iter(model.run({name: tensor * scale}).values()))[0]
            boxes, scores, labels = decode(raw, detector.score_threshold)
            keep = nms(boxes, scores, detector.iou_threshold, labels=labels)
            tops = placement.to_original(boxes[keep][labels[keep] == 0],
                                         clip_to=pixels.shape[1::-1])
            hits[key] += sum(any(iou(tuple(b), t) >= 0.5 for b in tops) for t in truth)
    assert hits["wrong"] < 0.5 * hits["right"]


def _found(garments, mirrored_in: int | None = None) -> list[tuple]:
    """Garments as comparable tuples; boxes flipped back when found in a mirror image
    ``mirrored_in`` pixels wide."""
    rows = []
    for g in garments:
        x1, y1, x2, y2 = g.box
        if mirrored_in is not None:
            x1, x2 = mirrored_in - x2, mirrored_in - x1
        rows.append((g.category, *(round(v) for v in (x1, y1, x2, y2)), round(g.score, 3)))
    return sorted(rows)


def test_a_photo_and_its_mirror_image_give_the_same_garments_mirrored(detector, test_photos,
                                                                     monkeypatch):
    """The mirror view makes the answer symmetric: a shopper's photo and the same photo flipped
    (as pages and phones often serve it) get the same boxes and scores. Each photo is cut to
    420 px wide so the letterbox pads both sides alike; without the mirror view the two
    answers differ."""
    assert detector.mirror_view
    photos = [np.ascontiguousarray(pixels[:, :420]) for _, pixels in test_photos[:8]]

    def differing() -> int:
        return sum(_found(detector.predict(p)) != _found(
            detector.predict(np.ascontiguousarray(p[:, ::-1])), p.shape[1]) for p in photos)

    assert differing() == 0
    monkeypatch.setattr(GarmentDetector, "mirror_view", False)
    assert differing() > 0

