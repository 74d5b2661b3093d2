"""Training the body gender classifier runs end to end on a CPU and exports a loadable model.

A smoke run (one epoch on 24 pedestrians) proves the script starts from the shipped NanoDet
backbone, reports progress, exports ONNX with a manifest and that the runtime module reads it.
Needs torch and onnx2torch (see python -m training.gender --help); skipped without them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from companion.inference.body_gender import BodyGender
from companion.inference.manifest import file_sha256
from companion.inference.store import ModelStore
from tests.support.data import DATA, requires_data, skip_unless_installed, smoke_train

skip_unless_installed({
    "torch": "training needs torch (pip install torch==2.14.1)",
    "onnx2torch": "the NanoDet backbone is converted with onnx2torch",
})
pytestmark = [pytest.mark.slow, requires_data]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """(models folder, log) of one epoch on 24 pedestrians."""
    return smoke_train("training.gender", tmp_path_factory.mktemp("gender"), "body-gender",
                       "--no-catalog", "--limit", "24", "--epochs", "1", "--batch", "8",
                       timeout=900)


def test_one_epoch_trains_and_reports_progress(smoke_run):
    _, log = smoke_run
    assert "training on 22 people (0 from catalog photos), validating on 2" in log
    assert "epoch 1/1 step 3/3 loss" in log and "min of the budget left" in log
    assert "images" in log and "ETA" in log  # the progress line: count, rate, ETA
    assert "validation accuracy" in log


def test_the_export_loads_through_the_manifest_and_gives_probabilities(smoke_run):
    models, _ = smoke_run
    folder = models / "body-gender"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["task"] == "body-gender"
    assert manifest["inputs"][0]["shape"] == ["batch", 3, 256, 128]
    assert file_sha256(folder / manifest["file"]) == manifest["sha256"]
    assert 0.5 <= manifest["extra"]["min_confidence"] <= 0.95
    classifier = BodyGender(ModelStore(models))
    people = sorted((DATA / "people" / "images").glob("*.jpg"))[:3]
    crops = [np.asarray(Image.open(p).convert("RGB")) for p in people]
    probabilities = classifier.male_probability(crops)
    assert probabilities.shape == (3,)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
