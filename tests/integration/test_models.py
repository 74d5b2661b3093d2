"""Every shipped model matches its manifest, and the manifest's input range is the right one."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from companion.errors import LookError
from companion.inference.faceres import OUTPUT, FaceRes
from companion.inference.manifest import file_sha256, read_manifest
from companion.inference.preprocess import to_model_input
from companion.inference.store import ModelStore
from companion.paths import models_dir
from companion.pipeline.decode import decode_image
from tests.support.data import FACES, requires_data

MODEL_NAMES = sorted(p.parent.name for p in models_dir().glob("*/manifest.json"))


def test_the_core_models_ship():
    for name in ("movenet-multipose", "blazeface", "faceres", "centernet", "nanodet-embedder"):
        assert name in MODEL_NAMES


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_manifest_describes_its_file(name):
    manifest = read_manifest(models_dir() / name)
    assert file_sha256(manifest.path) == manifest.sha256
    assert manifest.path.stat().st_size == manifest.size_bytes
    assert manifest.input.value_range is not None or manifest.input.mean is not None, (
        "an image model must state the pixel range it expects"
    )
    assert manifest.licence and manifest.provenance


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_loading_checks_declared_inputs_and_outputs(name):
    loaded = ModelStore().get(name)
    declared = {o.name for o in loaded.manifest.outputs}
    assert declared == {o.name for o in loaded.session.get_outputs()}


def _copy_model(tmp_path, name):
    target = tmp_path / name
    shutil.copytree(models_dir() / name, target)
    return target


def test_a_tampered_model_file_is_refused(tmp_path):
    target = _copy_model(tmp_path, "blazeface")
    data = bytearray((target / "blazeface.onnx").read_bytes())
    data[-10] ^= 0xFF
    (target / "blazeface.onnx").write_bytes(bytes(data))
    with pytest.raises(LookError) as caught:
        ModelStore(tmp_path).get("blazeface")
    assert caught.value.code == "model_corrupt"


def test_a_manifest_naming_a_wrong_output_is_refused(tmp_path):
    target = _copy_model(tmp_path, "blazeface")
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["outputs"][0]["name"] = "no_such_output"
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LookError) as caught:
        ModelStore(tmp_path).get("blazeface")
    assert caught.value.code == "model_mismatch"


def test_a_missing_model_says_what_to_do(tmp_path):
    with pytest.raises(LookError) as caught:
        ModelStore(tmp_path).get("faceres")
    assert caught.value.code == "model_missing"
    assert "Reinstall" in caught.value.message


def _faces(count: int) -> list[tuple[np.ndarray, str]]:
    with (FACES / "labels.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows = rows[: count // 2] + rows[-(count // 2):]  # both genders
    return [(decode_image((FACES / r["file"]).read_bytes()).pixels, r["gender"]) for r in rows]


@requires_data
def test_faceres_range_in_the_manifest_is_the_one_that_works():
    """FaceRes wants raw 0..255 pixels; fed 0..1 it answers the same for every face."""
    faceres = FaceRes(ModelStore())
    faces = _faces(20)
    genders = faceres.predict([f for f, _ in faces])
    decided = [(g.label, truth) for g, (_, truth) in zip(genders, faces, strict=True)
               if g.label != "unknown"]
    assert len(decided) >= 15
    assert sum(label == truth for label, truth in decided) >= len(decided) - 1

    model = faceres.load()
    assert model.manifest.input.value_range == (0, 255)
    wrong = dataclasses.replace(model.manifest.input, value_range=(0.0, 1.0))
    batch = np.stack([np.asarray(Image.fromarray(f).resize((224, 224))) for f, _ in faces])
    constant = model.run({wrong.name: to_model_input(batch, wrong)})[OUTPUT][:, 0]
    proper = model.run({wrong.name: to_model_input(batch, model.manifest.input)})[OUTPUT][:, 0]
    assert np.std(constant) < 0.25 * np.std(proper)
