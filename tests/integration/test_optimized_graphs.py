"""Graphs optimised at build time (packager/optimize.py) load instead of the models' own files on
the CPU, give the same answers bit for bit, and are used only where they stand for the model
exactly: this onnxruntime, the manifest's file, their own sha256 intact, the CPU provider."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from companion.inference import optimized, session
from companion.inference.embedder import DEFAULT_EMBEDDER, Embedder
from companion.inference.faceres import FaceRes
from companion.inference.movenet import MoveNet
from companion.inference.optimized import INDEX, OPTIMIZED_ENV
from companion.inference.store import ModelStore
from companion.paths import models_dir
from companion.pipeline.decode import decode_image
from packager.optimize import optimize_models
from tests.support.data import requires_data, street_photo

MODELS = ["movenet-multipose", "faceres", DEFAULT_EMBEDDER]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """The three models' graphs, optimised as the packager does (no cache: made here)."""
    out = tmp_path_factory.mktemp("optimized")
    optimize_models(models_dir(), MODELS, out, cache=None)
    return out


@pytest.fixture(autouse=True)
def fresh_messages(monkeypatch):
    monkeypatch.setattr(optimized, "_told", set())
    monkeypatch.setattr(session, "_failed", set())


def _copy(graphs, folder):
    folder.mkdir()
    for path in graphs.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def _store(monkeypatch, folder) -> ModelStore:
    monkeypatch.setenv(OPTIMIZED_ENV, str(folder))
    return ModelStore()


def test_the_index_names_each_graph_its_model_and_this_onnxruntime(graphs):
    index = json.loads((graphs / INDEX).read_text())
    assert index["onnxruntime"] == session.ort.__version__
    assert (index["provider"], index["level"]) == ("CPUExecutionProvider", "extended")
    assert sorted(index["models"]) == sorted(MODELS)
    for name, entry in index["models"].items():
        assert entry["source_sha256"] == ModelStore().manifest(name).sha256
        assert (graphs / entry["file"]).stat().st_size == entry["bytes"]


@requires_data
def test_optimised_graphs_give_the_same_answers_bit_for_bit(graphs, monkeypatch):
    photo = decode_image(street_photo("ccp_0003.jpg")).pixels
    plain = ModelStore()
    fast = _store(monkeypatch, graphs)
    assert fast.get("movenet-multipose").optimized and not plain.get("faceres").optimized
    people, again = MoveNet(plain).predict(photo), MoveNet(fast).predict(photo)
    assert people and [(p.box, p.score) for p in again] == [(p.box, p.score) for p in people]
    for mine, theirs in zip(again, people, strict=True):
        np.testing.assert_array_equal(mine.keypoints, theirs.keypoints)
    crops = [photo[100:340, 120:310], photo[330:600, 150:300]]
    np.testing.assert_array_equal(Embedder(fast).predict(crops), Embedder(plain).predict(crops))
    face = photo[20:110, 170:250]
    assert FaceRes(fast).male_probability([face]) == FaceRes(plain).male_probability([face])


def test_graphs_of_another_onnxruntime_are_not_used_and_the_log_says_so(
        graphs, tmp_path, monkeypatch, caplog):
    stale = _copy(graphs, tmp_path / "stale")
    index = json.loads((stale / INDEX).read_text())
    (stale / INDEX).write_text(json.dumps({**index, "onnxruntime": "0.0.1"}))
    with caplog.at_level(logging.WARNING):
        model = _store(monkeypatch, stale).get("faceres")
    assert not model.optimized
    assert "onnxruntime 0.0.1" in caplog.text and "load unoptimised" in caplog.text


def test_a_damaged_graph_is_not_used_and_its_model_loads_from_its_own_file(
        graphs, tmp_path, monkeypatch, caplog):
    damaged = _copy(graphs, tmp_path / "damaged")
    data = bytearray((damaged / "faceres.onnx").read_bytes())
    data[-10] ^= 0xFF
    (damaged / "faceres.onnx").write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        store = _store(monkeypatch, damaged)
        assert not store.get("faceres").optimized
        assert store.get("movenet-multipose").optimized  # the others are intact
    assert "faceres.onnx is missing or damaged" in caplog.text


def test_a_model_without_a_graph_loads_from_its_own_file(graphs, monkeypatch):
    assert not _store(monkeypatch, graphs).get("blazeface").optimized


def test_a_gpu_gets_the_models_own_files(graphs, monkeypatch):
    """A graph optimised for the CPU provider is not one for a GPU provider."""
    monkeypatch.setattr(session.ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert not session.only_cpu("auto") and session.only_cpu("cpu")
    session.use_device("auto")
    try:
        store = _store(monkeypatch, graphs)
        assert store._cpu_graph(store.manifest("faceres")) is None
    finally:
        session.use_device(None)
