"""The one way training code reads and writes a model's manifest.json (the runtime reads it with
companion.inference.manifest).

Conversion and training run in their own virtual environments (training.convert in
.venv-convert), so this module needs only the standard library. Each trainer says what is
particular to its model (task, tensors, labels, licence, provenance, extra); the file's identity
(name, sha256, size) is filled in here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def rgb_input(name: str, shape: list, size_note: str) -> dict:
    """An NCHW float32 RGB image input scaled to 0..1, as every model of ours takes it."""
    return {
        "name": name,
        "shape": shape,
        "dtype": "float32",
        "layout": "NCHW",
        "range": [0, 1],
        "colour": "RGB",
        "normalisation": "pixel / 255",
        "size_note": size_note,
    }


MANIFEST = "manifest.json"  # next to the model's ONNX file


def read_manifest(folder: Path) -> dict:
    """The manifest.json in `folder`, as written (a dict: training changes fields the runtime's
    dataclass leaves out)."""
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def save_manifest(folder: Path, manifest: dict) -> None:
    """Write `manifest` as `folder`/manifest.json: a changed copy of one read with
    `read_manifest`, or a new one from `write_manifest`."""
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extra_of_a_changed_file(manifest: dict) -> dict:
    """The manifest's `extra` for a new file made from its model: without the consensus weights,
    which belong to the very file they were tuned on (training.evaluate.consensus)."""
    return {k: v for k, v in manifest.get("extra", {}).items() if k != "consensus"}


def write_manifest(onnx_path: Path, *, name: str, task: str, inputs: list[dict],
                   outputs: list[dict], labels: list[str], licence: str, provenance: dict,
                   extra: dict | None = None) -> dict:
    """Write manifest.json next to `onnx_path` and return it."""
    manifest = {
        "name": name,
        "task": task,
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "bytes": onnx_path.stat().st_size,
        "inputs": inputs,
        "outputs": outputs,
        "labels": labels,
        "licence": licence,
        "provenance": provenance,
    }
    if extra is not None:
        manifest["extra"] = extra
    save_manifest(onnx_path.parent, manifest)
    return manifest
