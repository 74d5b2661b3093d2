"""Installing an int8 model keeps the float file it was made from beside it, named by the
manifest, so quantizing again and the detector's training start from the float weights."""

from __future__ import annotations

import pytest

from training.manifest import read_manifest, save_manifest, sha256_of
from training.quantize.folder import float_model, float_source, install

NAME = "detector"


def model_folder(root, name: str, content: bytes, provenance: dict) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / f"{name}.onnx").write_bytes(content)
    save_manifest(folder, {"name": name, "file": f"{name}.onnx",
                           "sha256": sha256_of(folder / f"{name}.onnx"),
                           "bytes": len(content), "provenance": provenance,
                           "extra": {"score_threshold": 0.2}})


def quantized_from(root, content: bytes, float_sha: str):
    built = root / "built"
    model_folder(built, NAME, content, {"quantized": "int8", "float_sha256": float_sha})
    return built


def test_installing_moves_the_float_file_aside_and_names_it(tmp_path):
    models = tmp_path / "models"
    model_folder(models, NAME, b"float weights", {"trainer": "ours"})
    float_sha = sha256_of(models / NAME / f"{NAME}.onnx")
    installed = install(quantized_from(tmp_path, b"int8", float_sha), models, NAME)
    folder = models / NAME
    assert (folder / f"{NAME}.onnx").read_bytes() == b"int8"
    assert (folder / f"{NAME}.float.onnx").read_bytes() == b"float weights"
    assert installed == read_manifest(folder)
    assert installed["sha256"] == sha256_of(folder / f"{NAME}.onnx")
    assert installed["provenance"] == {"quantized": "int8", "float_sha256": float_sha,
                                       "float_file": f"{NAME}.float.onnx"}
    assert installed["extra"] == {"score_threshold": 0.2}  # the settings stay models/'s own
    assert float_model(folder) == folder / f"{NAME}.float.onnx"


def test_a_second_install_keeps_the_same_float_file(tmp_path):
    models = tmp_path / "models"
    model_folder(models, NAME, b"float weights", {})
    float_sha = sha256_of(models / NAME / f"{NAME}.onnx")
    install(quantized_from(tmp_path / "first", b"int8 v1", float_sha), models, NAME)
    install(quantized_from(tmp_path / "second", b"int8 v2", float_sha), models, NAME)
    assert (models / NAME / f"{NAME}.onnx").read_bytes() == b"int8 v2"
    assert (models / NAME / f"{NAME}.float.onnx").read_bytes() == b"float weights"


def test_an_int8_file_made_from_other_weights_is_refused(tmp_path):
    models = tmp_path / "models"
    model_folder(models, NAME, b"float weights", {})
    with pytest.raises(SystemExit, match="was not quantized from"):
        install(quantized_from(tmp_path, b"int8", "0" * 64), models, NAME)
    assert (models / NAME / f"{NAME}.onnx").read_bytes() == b"float weights"


def test_training_continues_from_the_float_file_of_an_installed_int8_model(tmp_path):
    models = tmp_path / "models"
    model_folder(models, NAME, b"float weights", {})
    plain = models / NAME / f"{NAME}.onnx"
    assert float_source(plain) == plain  # a float model is its own start
    install(quantized_from(tmp_path, b"int8", sha256_of(plain)), models, NAME)
    assert float_source(plain) == models / NAME / f"{NAME}.float.onnx"
    elsewhere = tmp_path / "run.onnx"
    assert float_source(elsewhere) == elsewhere  # a file outside a models folder as given
