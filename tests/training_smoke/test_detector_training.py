"""Training the garment detector runs end to end on a CPU and exports what the runtime loads.

A smoke run (one epoch on 12 street photos at 160 px) cannot find garments yet; it proves the
script builds its data, trains without any download, exports ONNX and writes a manifest that
loads through the same ModelStore path as the shipped models. Needs the detector environment
(ultralytics + torch, see python -m training.detector --help); skipped without it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from companion.inference.garment_detector import GarmentDetector
from companion.inference.manifest import file_sha256
from companion.inference.store import ModelStore
from tests.support.data import STREET, requires_data, skip_unless_installed, smoke_train

skip_unless_installed({
    "torch": "training needs torch (pip install torch==2.14.1)",
    "ultralytics": "training needs ultralytics (the detector extra)",
    "onnx": "the export writes ONNX",
})
pytestmark = [pytest.mark.slow, requires_data]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """(models folder, log) of one epoch on 12 street photos at 160 px."""
    return smoke_train("training.detector", tmp_path_factory.mktemp("detector"),
                       "garment-detector", "--limit", "12", "--epochs", "1", "--imgsz", "160",
                       "--batch", "4", "--workers", "0", timeout=900)


def test_one_epoch_trains_from_the_yaml_without_downloading(smoke_run):
    _, log = smoke_run
    assert "dataset: 11 train, 1 val photos" in log
    assert "1 epochs completed" in log
    assert "Downloading" not in log  # no hub weights, fonts or AMP check models
    assert "pretrained=False" in log  # random initialisation from the architecture yaml


def test_the_export_has_a_manifest_the_companion_verifies(smoke_run):
    models, _ = smoke_run
    folder = models / "garment-detector"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["task"] == "garment-detection"
    assert manifest["labels"] == ["topwear", "bottomwear", "footwear", "dress", "bag"]
    assert manifest["inputs"][0]["shape"] == [1, 3, 160, 160]
    assert manifest["inputs"][0]["range"] == [0, 1]
    assert manifest["outputs"][0]["shape"] == [1, 9, 525]  # 4 box + 5 scores; 20²+10²+5² cells
    assert file_sha256(folder / manifest["file"]) == manifest["sha256"]
    assert "AGPL" in manifest["licence"]


def test_the_smoke_model_runs_through_our_numpy_postprocessing(smoke_run):
    models, _ = smoke_run
    detector = GarmentDetector(ModelStore(models))
    pixels = np.asarray(Image.open(STREET / "images" / "ccp_0001.jpg").convert("RGB"))
    found = detector.predict(pixels, score_threshold=0.0)  # untrained: take whatever it says
    assert found, "with no threshold some candidates must survive NMS"
    height, width = pixels.shape[:2]
    for garment in found:
        x1, y1, x2, y2 = garment.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        assert garment.category in detector.labels


def test_the_shipped_detector_rebuilt_as_weights_computes_what_its_onnx_computes(tmp_path):
    """Training can continue from what ships (``--model models/garment-detector/*.onnx``): the
    int8 file's float weights, kept beside it. In a subprocess: importing ultralytics patches
    PIL.Image.open for the whole process."""
    import subprocess
    import sys

    from companion.paths import models_dir

    shipped = models_dir() / "garment-detector" / "garment-detector.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "training.detector.from_onnx", str(shipped),
         str(tmp_path / "from-onnx.pt")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["relative"] < 1e-3  # the same network, up to float rounding
    # The batch norms are not left as identities: they carry the activations' statistics.
    assert report["first_bn_running_var"] != pytest.approx(1.0, abs=1e-3)
