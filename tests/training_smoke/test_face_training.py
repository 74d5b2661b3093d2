"""Fine-tuning FaceRes for steadiness runs end to end on a CPU and exports a model the look reads.

A smoke run (a few steps on the faces of 30 street trainval photos) proves the script finds faces
as the look does, asks the shipped FaceRes for its answers, trains the student at a smaller
input, reports how steady it is on held-out faces, and exports ONNX with a manifest that
``companion.inference.faceres`` reads. Needs torch and onnx2torch; skipped without them.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from companion.inference.faceres import FaceRes
from companion.inference.manifest import file_sha256
from companion.inference.store import ModelStore
from companion.pipeline.decode import decode_image
from tests.support.data import DATA, requires_data, skip_unless_installed, smoke_train
from training.pixels import read_rgb

skip_unless_installed({
    "torch": "training needs torch (pip install torch==2.14.1)",
    "onnx2torch": "FaceRes is converted with onnx2torch",
})
pytestmark = [pytest.mark.slow, requires_data]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """(models folder, log) of three steps at 160 px."""
    return smoke_train("training.face", tmp_path_factory.mktemp("face"), "faceres",
                       "--limit", "30", "--steps", "3", "--batch", "4",
                       "--input-size", "160", "--label-floor", "3", timeout=900)


def test_faces_are_found_and_the_students_steadiness_is_reported_before_and_after(smoke_run):
    _, log = smoke_run
    assert "finding faces" in log and "ETA" in log  # the progress line
    assert "with their product's gender as a floor" in log  # --label-floor read the feed
    assert "faces to learn from" in log and "before: {'step': 0, 'mean abs error'" in log
    assert "after " in log and "'sign agrees'" in log


def test_the_student_loads_through_its_manifest_at_its_own_input_size(smoke_run):
    models, _ = smoke_run
    folder = models / "faceres"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["extra"]["input_size"] == 160
    assert manifest["inputs"][0]["shape"] == ["batch", "height", "width", 3]
    assert file_sha256(folder / manifest["file"]) == manifest["sha256"]
    assert manifest["provenance"]["fine_tuned"]["by"] == "python -m training.face"
    assert manifest["provenance"]["fine_tuned"]["label_floor"] == 3.0
    student, shipped = FaceRes(ModelStore(models)), FaceRes(ModelStore())
    assert student.settings.size(224) == (160, 160)
    labels = (DATA / "faces" / "labels.csv").read_text().splitlines()[1:]
    women = [line.split(",")[0] for line in labels if ",female," in line][:4]
    men = [line.split(",")[0] for line in labels if ",male," in line][:4]
    faces = [read_rgb(DATA / "faces" / name) for name in women + men]
    probabilities = student.male_probability(faces)
    assert probabilities.shape == (8,) and ((probabilities >= 0) & (probabilities <= 1)).all()
    # Three steps from the shipped weights: still FaceRes, not a network that forgot faces.
    same_side = (probabilities > 0.5) == (shipped.male_probability(faces) > 0.5)
    assert same_side.sum() >= 6


def test_a_served_face_keeps_its_place_in_the_smaller_recompressed_pixels():
    from training.face.faces import served, view_of, views_of

    pixels = decode_image((DATA / "street" / "images" / "ccp_0003.jpg").read_bytes()).pixels
    face = (190.0, 40.0, 240.0, 100.0)
    rng = random.Random(1)
    for _ in range(10):
        out, box = served(pixels, face, rng)
        height, width = out.shape[:2]
        assert 0 <= box[0] < box[2] <= width * 1.1 and 0 <= box[1] < box[3] <= height * 1.1
        scale = (box[2] - box[0]) / (face[2] - face[0])
        assert 0.45 * 0.85 <= scale <= 1.0 * 1.15  # the page's scale, and BlazeFace's wobble
        assert width < pixels.shape[1] and height < pixels.shape[0]  # the face's surroundings
        for which, view in enumerate(views_of(out, box, 24.0)):  # one view cut alone is the same
            assert np.array_equal(view_of(out, box, which, 24.0), view)
