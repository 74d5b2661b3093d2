"""The model wrappers' base: built without touching a model, loaded once on first use (however
many threads ask at once), settings read from the manifest, and errors the store's own."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest

from companion.errors import LookError
from companion.inference import store as store_module
from companion.inference.blazeface import BlazeFace
from companion.inference.body_gender import BodyGender
from companion.inference.centernet import CenterNet
from companion.inference.embedder import Embedder
from companion.inference.faceres import FaceRes
from companion.inference.garment_detector import GarmentDetector
from companion.inference.manifest import TensorSpec
from companion.inference.model import InferenceModel, ModelSettings
from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.paths import models_dir

WRAPPERS = (MoveNet, BlazeFace, FaceRes, CenterNet, GarmentDetector, BodyGender, Embedder)


@pytest.fixture
def sessions_created(monkeypatch) -> list[str]:
    """Every ORT session the store creates, slowed down so concurrent first calls overlap."""
    created: list[str] = []
    real = store_module.create_session

    def counting(path, threads=None, **options):
        created.append(path.name)
        time.sleep(0.2)
        return real(path, threads, **options)

    monkeypatch.setattr(store_module, "create_session", counting)
    return created


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_building_a_wrapper_loads_nothing(wrapper, sessions_created):
    model = wrapper(ModelStore())
    assert not model.loaded
    assert sessions_created == []
    assert model.name == wrapper.model_name


def test_the_first_predict_loads_the_model_and_later_ones_reuse_it(sessions_created):
    faces = BlazeFace(ModelStore())
    blank = np.zeros((64, 64, 3), np.uint8)
    assert faces.predict(blank) is None
    assert faces.loaded
    faces.predict(blank)
    assert sessions_created == ["blazeface.onnx"]


def test_concurrent_first_calls_load_the_model_once(sessions_created):
    faces = BlazeFace(ModelStore())
    start = threading.Barrier(8)
    answers: list[object] = []

    def first_call() -> None:
        start.wait()
        answers.append(faces.predict(np.zeros((64, 64, 3), np.uint8)))

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [None] * 8
    assert sessions_created == ["blazeface.onnx"]


def test_preloading_loads_in_the_background_and_get_waits_for_a_model_still_loading(
        sessions_created):
    store = ModelStore()
    began = time.monotonic()
    store.preload(["blazeface", "faceres", "body-gender"])
    assert time.monotonic() - began < 0.2, "preload returns at once"
    faces = BlazeFace(store)
    assert faces.predict(np.zeros((64, 64, 3), np.uint8)) is None
    body = store.get("body-gender")
    assert store.get("body-gender") is body
    assert sorted(sessions_created) == ["blazeface.onnx", "body-gender.onnx", "faceres.onnx"]
    assert body.load_ms > 0


def test_a_model_that_failed_to_preload_says_why_when_asked_and_is_tried_again(tmp_path):
    store = ModelStore(tmp_path)
    store.preload(["blazeface"])
    for _ in range(2):
        with pytest.raises(LookError) as caught:
            store.get("blazeface")
        assert caught.value.code == "model_missing"
    shutil.copytree(models_dir() / "blazeface", tmp_path / "blazeface")
    assert store.get("blazeface").manifest.name == "blazeface"  # there now: it loads


class _CountingStore:
    """A store that counts how often a wrapper asks it, slowly, for its model."""

    def __init__(self) -> None:
        self.real = ModelStore()
        self.asked = 0

    def get(self, name):
        self.asked += 1
        time.sleep(0.1)
        return self.real.get(name)


class _Echo(InferenceModel):
    model_name = "blazeface"

    def _predict(self, value):
        return value, self.settings.size(99)


def test_the_wrapper_asks_its_store_once_under_concurrent_first_calls():
    """The wrapper's own lock, not only the store's: its settings are read once too."""
    store = _CountingStore()
    echo = _Echo(store)  # type: ignore[arg-type]
    start = threading.Barrier(6)
    answers = []

    def first_call(i: int) -> None:
        start.wait()
        answers.append(echo.predict(i))

    threads = [threading.Thread(target=first_call, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.asked == 1
    assert sorted(answers) == [(i, (256, 256)) for i in range(6)]


def test_a_missing_model_fails_on_first_use_with_the_stores_code(tmp_path):
    faces = FaceRes(ModelStore(tmp_path))  # an empty models folder: building still works
    with pytest.raises(LookError) as caught:
        faces.predict([np.zeros((8, 8, 3), np.uint8)])
    assert caught.value.code == "model_missing"
    assert not faces.loaded


def test_a_wrapper_can_run_a_model_under_another_name(tmp_path):
    shutil.copytree(models_dir() / "blazeface", tmp_path / "faces-v2")
    faces = BlazeFace(ModelStore(tmp_path), "faces-v2")
    assert faces.predict(np.zeros((64, 64, 3), np.uint8)) is None
    assert faces.manifest.path.parent.name == "faces-v2"


def _spec(shape: list, layout: str) -> TensorSpec:
    return TensorSpec("image", shape, "float32", layout=layout, value_range=(0, 1))


def test_the_input_size_comes_from_extra_then_the_fixed_shape_then_the_default():
    fixed = ModelSettings(_spec(["batch", 3, 256, 128], "NCHW"))
    assert fixed.size(64) == (128, 256)  # width, height
    assert ModelSettings(_spec([1, 512, 512, 3], "NHWC")).size(64) == (512, 512)
    symbolic = ModelSettings(_spec([1, "height", "width", 3], "NHWC"))
    assert symbolic.size(256) == (256, 256)
    assert symbolic.size((128, 256)) == (128, 256)
    told = ModelSettings(_spec(["batch", 3, "h", "w"], "NCHW"), extra={"input_size": 160})
    assert told.size(224) == (160, 160)


def test_thresholds_and_other_settings_come_from_extra_or_their_defaults():
    settings = ModelSettings(_spec([1, 3, 8, 8], "NCHW"), ["a", "b"],
                             {"min_confidence": 0.8, "fill": [1, 2, 3]})
    assert settings.number("min_confidence", 0.7) == 0.8
    assert settings.number("crop_margin", 0.08) == 0.08
    assert settings.get("fill", (255, 255, 255)) == [1, 2, 3]
    assert settings.labels == ["a", "b"]


def test_the_shipped_manifests_settings_reach_the_wrappers():
    store = ModelStore()
    body, detector = BodyGender(store), GarmentDetector(store)
    assert body.min_confidence == 0.8  # the manifest's, over the default 0.7
    assert (body.size, body.margin) == ((128, 256), 0.08)
    assert detector.score_threshold == 0.2 and detector.size == (384, 384)
    assert Embedder(store).square(np.zeros((10, 20, 3), np.uint8)).shape == (160, 160, 3)
