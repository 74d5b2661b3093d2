"""The body gender step: how a person is cropped and fed, what the shipped model says, and that
it answers for the people whose face gives none (how its evidence joins the face's:
tests/unit/test_gender_rule.py).

The crop preparation is shared by training and the runtime, so its geometry is pinned here; the
shipped model is checked on held-out pedestrians (people/ test, never trained on).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from companion.inference.body_gender import BodyGender, prepare
from companion.inference.store import ModelStore
from companion.pipeline.crops import body_crop, expand_box, face_crop
from companion.pipeline.gender import GenderRule, body_log_odds
from companion.types import DecodedImage
from tests.support.data import DATA, requires_data

PEOPLE = DATA / "people"


def test_the_box_grows_by_the_margin_and_stays_inside_the_image():
    assert expand_box((10, 100, 60, 300), 200, 400, margin=0.1) == pytest.approx(
        (5.0, 80.0, 65.0, 320.0))
    assert expand_box((0, 0, 50, 400), 60, 400, margin=0.1) == (0.0, 0.0, 55.0, 400.0)


def test_a_body_crop_keeps_at_least_one_pixel():
    pixels = np.zeros((100, 100, 3), dtype=np.uint8)
    assert body_crop(pixels, (50.0, 50.0, 50.0, 50.0), margin=0.0).shape == (1, 1, 3)


def test_a_tall_crop_fills_the_input_height_centred_between_grey_bars():
    crop = np.full((200, 50, 3), 255, dtype=np.uint8)
    tensor = prepare(crop, 128, 256)
    assert tensor.shape == (3, 256, 128) and tensor.dtype == np.float32
    assert tensor.max() == 1.0  # 0..1, the range the manifest declares
    row = tensor[0, 128]
    grey = np.float32(114 / 255)
    assert (row[:32] == grey).all()  # the 64 px wide image sits in the middle
    assert (row[32:96] == 1.0).all()
    assert (row[96:] == grey).all()


def _held_out_people(count: int) -> list[tuple[np.ndarray, str]]:
    with (PEOPLE / "labels.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "test"]
    rows = rows[::max(1, len(rows) // count)][:count]  # spread over every camera set
    return [(np.asarray(Image.open(PEOPLE / r["file"]).convert("RGB")), r["gender"]) for r in rows]


@pytest.fixture(scope="module")
def classifier() -> BodyGender:
    return BodyGender(ModelStore())


@pytest.fixture(scope="module")
def held_out() -> list[tuple[np.ndarray, str]]:
    return _held_out_people(240)


@requires_data
def test_the_shipped_model_loads_through_its_manifest(classifier):
    manifest = classifier.manifest
    assert manifest.task == "body-gender"
    assert manifest.input.value_range == (0, 1)
    assert classifier.size == (128, 256)
    assert 0.5 <= classifier.min_confidence <= 0.95
    assert classifier.margin == pytest.approx(0.08)


@requires_data
def test_held_out_pedestrians_are_told_apart_better_than_chance(classifier, held_out):
    """Measured 0.679 on all 240 (python -m training.evaluate.trained_models); a coin toss
    gives 0.5."""
    probabilities = classifier.male_probability([pixels for pixels, _ in held_out])
    truth = np.array([label == "male" for _, label in held_out])
    assert ((probabilities >= 0.5) == truth).mean() >= 0.62


@requires_data
def test_confident_answers_are_mostly_right_and_the_rest_say_unknown(classifier, held_out):
    """Measured: 23 % answered, 89 % of those right; "unknown" for the others."""
    answers = classifier.predict([pixels for pixels, _ in held_out])
    answered = [(a.label, truth) for a, (_, truth) in zip(answers, held_out, strict=True)
                if a.label != "unknown"]
    assert 0.1 <= len(answered) / len(held_out) <= 0.6
    assert sum(label == truth for label, truth in answered) / len(answered) >= 0.8


@requires_data
def test_pixels_in_the_wrong_range_give_no_usable_answer(classifier, held_out):
    """The model wants 0..1; fed 0..255 it must not look as if it still worked."""
    crops = [pixels for pixels, _ in held_out[:60]]
    model = classifier.load()
    name = model.manifest.input.name
    batch = np.stack([prepare(c, *classifier.size) for c in crops])
    right = model.run({name: batch})["male_probability"].ravel()
    wrong = model.run({name: batch * 255.0})["male_probability"].ravel()
    truth = np.array([label == "male" for _, label in held_out[:60]])
    assert ((wrong >= 0.5) == truth).mean() < ((right >= 0.5) == truth).mean()
    assert wrong.std() < right.std()  # answers collapse towards one label


@requires_data
@pytest.mark.parametrize(("name", "truth"), [
    ("peta_sarc3d_041-back.jpg", "male"),  # seen from behind
    ("peta_3dpes_135-767-frame-197-rgb.jpg", "female"),  # from afar: too small for a face
])
def test_a_person_whose_face_is_not_found_gets_the_body_models_answer(pipeline, name, truth):
    """The look's real models end to end: no face found, so the body's evidence alone is the
    person's gender (and here a confident, right one, not "unknown")."""
    pixels = np.asarray(Image.open(PEOPLE / "images" / name).convert("RGB"))
    (person, gender), = pipeline.detect(DecodedImage(pixels, pixels.shape[1], pixels.shape[0]))[0]
    assert face_crop(pipeline.blazeface, pixels, person) is None
    body = body_log_odds(pipeline.body_gender, pixels, [person])[0]
    assert gender == GenderRule.of(pipeline).decide(None, body)
    assert gender.label == truth
