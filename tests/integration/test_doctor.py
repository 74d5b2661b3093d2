"""``shop-the-look doctor`` as a user runs it: every check, and for every problem what to do."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from companion.inference.manifest import read_manifest
from companion.paths import CONFIG_ENV, MODELS_ENV, models_dir
from packager.bundle import DETECTOR, MODELS
from packager.optimize import ship_in_place
from tests.support.companion_http import free_port
from tests.support.data import requires_data

pytestmark = requires_data


def doctor(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, CONFIG_ENV: str(tmp_path / "config"), **env}
    environment.pop("DISPLAY", None)  # the window check must not depend on the test's desktop
    environment.pop("WAYLAND_DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "companion.cli", "doctor", *args],
                          capture_output=True, text=True, timeout=120, env=environment)


def checks(run: subprocess.CompletedProcess) -> dict[str, list[dict]]:
    by_topic: dict[str, list[dict]] = {}
    for check in json.loads(run.stdout)["checks"]:
        by_topic.setdefault(check["topic"], []).append(check)
    return by_topic


@pytest.fixture(scope="module")
def bundled_models(tmp_path_factory) -> Path:
    """The models as a CPU bundle ships them: each one's optimised graph in place of its file."""
    out = tmp_path_factory.mktemp("models")
    ship_in_place(models_dir(), [*MODELS, DETECTOR], out, tmp_path_factory.mktemp("cache"))
    return out


def test_a_working_install_passes_and_says_what_is_left_to_do(tmp_path, small_index_dir):
    run = doctor(tmp_path, "--index", str(small_index_dir), "--port", str(free_port()), "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    found = checks(run)
    assert found["device"][0]["status"] == "ok"
    assert "CPUExecutionProvider" in found["device"][0]["detail"]
    models = {c["detail"].split(":")[0]: c["status"] for c in found["model"]}
    assert {"movenet-multipose", "garment-embedder", "garment-detector"} <= set(models)
    assert set(models.values()) == {"ok"}
    catalog = found["catalog"][0]
    assert catalog["status"] == "ok" and "embedder matches" in catalog["detail"]
    assert found["port"][0]["status"] == "ok" and "is free" in found["port"][0]["detail"]
    pairing = found["pairing"][0]
    assert pairing["status"] == "note" and "Pair" in pairing["fix"]
    assert found["window"][0]["status"] == "note" and found["window"][0]["fix"]


def test_the_readable_report_puts_what_to_do_under_each_problem(tmp_path, small_index_dir):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = doctor(tmp_path, "--index", str(tmp_path / "no-index"), "--port", str(port))
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0].startswith("shop-the-look ") and "onnxruntime" in lines[0]
    catalog = next(i for i, line in enumerate(lines) if line.split()[:2] == ["fail", "catalog"])
    assert "No catalog index" in lines[catalog] and "→ Build it" in lines[catalog + 1]
    port_line = next(i for i, line in enumerate(lines) if line.split()[:2] == ["fail", "port"])
    assert "taken by another program" in lines[port_line]
    assert "--port" in lines[port_line + 1] and "extension's options" in lines[port_line + 1]
    assert lines[-1] == "2 problem(s): see the → lines above."


def test_a_damaged_model_file_is_named_with_reinstall_as_the_fix(tmp_path, small_index_dir):
    models = Path(shutil.copytree(models_dir(), tmp_path / "models"))
    with (models / "faceres" / "faceres.onnx").open("r+b") as model:
        model.seek(1000)
        model.write(b"\0" * 16)
    run = doctor(tmp_path, "--index", str(small_index_dir), "--port", str(free_port()), "--json",
                 **{MODELS_ENV: str(models)})
    assert run.returncode == 1
    (faceres,) = [c for c in checks(run)["model"] if c["detail"].startswith("faceres")]
    assert faceres["status"] == "fail" and "does not match its manifest" in faceres["detail"]
    assert "Reinstall" in faceres["fix"]


@pytest.mark.parametrize("device", ["cuda", "directml"])
def test_asking_for_a_gpu_this_install_cannot_use_says_how_to_get_it(tmp_path, small_index_dir,
                                                                     device):
    """This machine's onnxruntime has no GPU provider: the models run on the CPU anyway, and
    doctor says what to install (or to use auto)."""
    run = doctor(tmp_path, "--index", str(small_index_dir), "--port", str(free_port()), "--json",
                 "--device", device)
    (check,) = checks(run)["device"]
    assert check["status"] == "fail" and "→ CPUExecutionProvider" in check["detail"]
    assert "onnxruntime-" in check["fix"] and "--device auto" in check["fix"]


def test_a_cpu_bundles_models_are_checked_as_shipped_with_what_they_were_made_from(
        tmp_path, small_index_dir, bundled_models):
    run = doctor(tmp_path, "--index", str(small_index_dir), "--port", str(free_port()), "--json",
                 **{MODELS_ENV: str(bundled_models)})
    assert run.returncode == 0, run.stdout + run.stderr
    found = checks(run)
    assert found["device"][0]["status"] == "ok", found["device"]
    assert "CPUExecutionProvider" in found["device"][0]["detail"]
    assert len(found["model"]) == 7 and {c["status"] for c in found["model"]} == {"ok"}
    for check in found["model"]:
        name = check["detail"].split(":")[0]
        original = read_manifest(models_dir() / name)
        assert (f"sha256 ok ({read_manifest(bundled_models / name).size_bytes / 1e6:.1f} MB), "
                f"the graph optimised from {original.path.name} (sha256 "
                f"{original.sha256[:12]}…) by onnxruntime ") in check["detail"]
        assert check["detail"].endswith("the original is not shipped")
    assert found["catalog"][0]["status"] == "ok", "the embedder's graph still matches the catalog"


def test_a_graph_from_another_onnxruntime_is_a_note_that_says_what_happens(
        tmp_path, small_index_dir, bundled_models):
    models = Path(shutil.copytree(bundled_models, tmp_path / "models"))
    manifest = models / "faceres" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["provenance"]["optimized_from"]["onnxruntime"] = "0.0.1"
    manifest.write_text(json.dumps(data))
    run = doctor(tmp_path, "--index", str(small_index_dir), "--port", str(free_port()), "--json",
                 **{MODELS_ENV: str(models)})
    assert run.returncode == 0, run.stdout + run.stderr
    (faceres,) = [c for c in checks(run)["model"] if c["detail"].startswith("faceres")]
    assert faceres["status"] == "note"
    assert "saved by onnxruntime 0.0.1" in faceres["detail"]
    assert "no original file to fall back to it loads as it is" in faceres["detail"]
    assert "Reinstall the companion" in faceres["fix"]


def test_models_list_names_the_file_each_shipped_graph_was_made_from(tmp_path, bundled_models):
    run = subprocess.run([sys.executable, "-m", "companion.cli", "models", "list"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, MODELS_ENV: str(bundled_models)})
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("faceres "))
    assert lines[row].split()[3] == "ok"
    assert lines[row + 1].split()[0] == "faceres.optimized.onnx:"
    assert "the graph optimised from faceres.onnx (sha256 " in lines[row + 1]


def test_a_bundle_ships_the_int8_detector_without_the_float_file_it_was_made_from(
        bundled_models):
    """The float weights stay in the repository for training; a shopper's install never runs
    them, so the packager leaves them out."""
    float_file = read_manifest(models_dir() / DETECTOR).provenance["float_file"]
    assert (models_dir() / DETECTOR / float_file).is_file()
    shipped = sorted(path.name for path in (bundled_models / DETECTOR).iterdir())
    assert float_file not in shipped
    assert "garment-detector.optimized.onnx" in shipped
    float_bytes = (models_dir() / DETECTOR / float_file).stat().st_size
    assert read_manifest(bundled_models / DETECTOR).size_bytes < float_bytes / 2  # int8 weights
