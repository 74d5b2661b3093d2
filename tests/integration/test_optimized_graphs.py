"""Graphs optimised at build time (packager/optimize.py) load instead of the models' own files on
the CPU, give the same answers bit for bit, and are used only where they stand for the model
exactly: this onnxruntime, the manifest's file, their own sha256 intact, the CPU provider.

A CPU bundle ships each graph in place of its model's file (one copy): its manifest describes
the graph and names the file it was made from, and with nothing to fall back to it loads even by
another onnxruntime (saying so), while a damaged one is refused like any model file."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from companion.errors import LookError
from companion.inference import optimized, session
from companion.inference.embedder import DEFAULT_EMBEDDER, Embedder
from companion.inference.faceres import FaceRes
from companion.inference.manifest import file_sha256, read_manifest
from companion.inference.movenet import MoveNet
from companion.inference.optimized import INDEX, OPTIMIZED_ENV
from companion.inference.store import ModelStore
from companion.paths import models_dir
from companion.pipeline.decode import decode_image
from packager.optimize import optimize_models, ship_in_place
from tests.support.data import requires_data, street_photo

MODELS = ["movenet-multipose", "faceres", DEFAULT_EMBEDDER]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """The three models' graphs, optimised as the packager does (no cache: made here)."""
    out = tmp_path_factory.mktemp("optimized")
    optimize_models(models_dir(), MODELS, out, cache=None)
    return out


@pytest.fixture(scope="module")
def in_place(graphs, tmp_path_factory):
    """The three models as a CPU bundle ships them: each its graph alone (the graphs above
    serve as the cache, as build/optimized-cache does for the packager)."""
    cache = tmp_path_factory.mktemp("cache")
    for name in MODELS:
        sha = read_manifest(models_dir() / name).sha256
        (cache / f"{session.ort.__version__}-{sha[:16]}.onnx").write_bytes(
            (graphs / f"{name}.onnx").read_bytes())
    out = tmp_path_factory.mktemp("models")
    ship_in_place(models_dir(), MODELS, out, cache)
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


def _rewrite(folder, name, **origin):
    """Change the ``optimized_from`` record of ``name``'s manifest in ``folder``."""
    path = folder / name / "manifest.json"
    data = json.loads(path.read_text())
    data["provenance"]["optimized_from"].update(origin)
    path.write_text(json.dumps(data))


def test_a_cpu_bundle_ships_each_model_once_as_its_graph_and_says_what_it_was_made_from(
        in_place):
    for name in MODELS:
        original = read_manifest(models_dir() / name)
        shipped = read_manifest(in_place / name)
        assert [p.name for p in (in_place / name).glob("*.onnx")] == [shipped.path.name]
        assert shipped.path.name == f"{name}.optimized.onnx" != original.path.name
        assert shipped.sha256 == file_sha256(shipped.path) != original.sha256
        assert shipped.size_bytes == shipped.path.stat().st_size
        made = optimized.origin(shipped)
        assert (made.file, made.sha256, made.bytes) == (
            original.path.name, original.sha256, original.size_bytes)
        assert (made.onnxruntime, made.provider, made.level) == (
            session.ort.__version__, "CPUExecutionProvider", "extended")
        assert shipped.embedding_sha256 == original.embedding_sha256, "catalogs still match"
        assert (shipped.inputs, shipped.outputs, shipped.extra) == (
            original.inputs, original.outputs, original.extra)
        assert optimized.origin(original) is None


@requires_data
def test_graphs_in_place_load_as_optimised_and_give_the_same_answers_bit_for_bit(in_place):
    photo = decode_image(street_photo("ccp_0003.jpg")).pixels
    plain, shipped = ModelStore(), ModelStore(in_place)
    assert all(shipped.get(name).optimized for name in MODELS)
    people, again = MoveNet(plain).predict(photo), MoveNet(shipped).predict(photo)
    assert people and [(p.box, p.score) for p in again] == [(p.box, p.score) for p in people]
    crops = [photo[100:340, 120:310], photo[330:600, 150:300]]
    np.testing.assert_array_equal(Embedder(shipped).predict(crops),
                                  Embedder(plain).predict(crops))
    face = photo[20:110, 170:250]
    assert FaceRes(shipped).male_probability([face]) == FaceRes(plain).male_probability([face])


def test_a_graph_in_place_from_another_onnxruntime_still_loads_and_the_log_says_why(
        in_place, tmp_path, caplog):
    """Nothing to fall back to: it loads as it is (a frozen bundle cannot meet this; models
    copied next to another onnxruntime can)."""
    models = tmp_path / "models"
    shutil.copytree(in_place, models)
    _rewrite(models, "faceres", onnxruntime="0.0.1")
    with caplog.at_level(logging.WARNING):
        model = ModelStore(models).get("faceres")
    assert model.optimized
    assert "faceres ships only as the graph optimised from faceres.onnx" in caplog.text
    assert "saved by onnxruntime 0.0.1" in caplog.text and "loads as it is" in caplog.text
    assert "reinstall the companion" in caplog.text


def test_a_damaged_graph_in_place_is_refused_with_reinstall(in_place, tmp_path, caplog):
    models = tmp_path / "models"
    shutil.copytree(in_place, models)
    graph = models / "faceres" / "faceres.optimized.onnx"
    data = bytearray(graph.read_bytes())
    data[-10] ^= 0xFF
    graph.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), pytest.raises(LookError) as caught:
        ModelStore(models).get("faceres")
    assert caught.value.code == "model_corrupt" and "Reinstall" in caught.value.message
    assert "its model's only copy here, is missing or damaged" in caplog.text
    assert ModelStore(models).get("movenet-multipose").optimized  # the others are intact
