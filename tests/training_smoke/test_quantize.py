"""training.quantize: an int8 model is made from the float weights (the shipped detector's own
float file, since the shipped one is int8), judged in a models folder of its own before anything
is installed, keeps its manifest but for the file's identity, and finds what the float model
finds on real street photos it was not calibrated on."""

from __future__ import annotations

import json

from companion.inference.garment_detector import GarmentDetector
from companion.inference.store import ModelStore
from companion.paths import models_dir
from companion.pipeline.decode import decode_image
from companion.pipeline.imaging import iou
from tests.support.data import STREET, requires_data
from training.manifest import read_manifest, sha256_of
from training.quantize.__main__ import main as quantize_main
from training.quantize.folder import float_model, link_folder, replace_model

NAME = "garment-detector"


@requires_data
def test_a_quantized_detector_finds_what_the_float_one_finds_on_test_photos(tmp_path,
                                                                           small_index_dir):
    out = tmp_path / "quantized"
    # The looks that record the calibration inputs need a catalog: the suite's own (a fresh
    # clone has no demo index).
    quantize_main(["--only", NAME, "--out", str(out), "--photos", "8", "--per-model", "6",
                   "--held-out", "2", "--index", str(small_index_dir)])
    original, quantized = read_manifest(models_dir() / NAME), read_manifest(out / NAME)
    model_file = out / NAME / quantized["file"]
    float_file = float_model(models_dir() / NAME)  # the shipped int8 file's float weights
    assert not model_file.is_symlink() and quantized["sha256"] == sha256_of(model_file)
    assert quantized["bytes"] < float_file.stat().st_size / 2  # int8 weights
    assert quantized.get("extra") == original.get("extra")
    assert quantized["provenance"]["float_sha256"] == sha256_of(float_file)
    assert (out / "movenet-multipose" / "movenet-multipose.onnx").is_symlink()
    assert read_manifest(models_dir() / NAME) == original  # models/ untouched
    assert NAME in json.loads((out / "quantize_report.json").read_text())

    float_folder = tmp_path / "float"
    link_folder(models_dir(), float_folder)
    replace_model(float_folder / NAME, float_file, {})
    float_detector = GarmentDetector(ModelStore(float_folder))
    int8_model = GarmentDetector(ModelStore(out))
    found = kept = 0
    for name in (STREET / "test.txt").read_text().split()[:6]:
        pixels = decode_image((STREET / "images" / name).read_bytes()).pixels
        theirs = int8_model.predict(pixels)
        for garment in float_detector.predict(pixels):
            found += 1
            kept += any(g.category == garment.category and iou(g.box, garment.box) >= 0.7
                        for g in theirs)
    assert found >= 6
    assert kept >= 0.8 * found
