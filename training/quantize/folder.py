"""A models folder with some files replaced: built beside models/ for judging, then installed.

An installed int8 model keeps its float file beside it (``<model>.float.onnx``, named by the
manifest's ``provenance.float_file``): quantizing again starts from it, the detector's training
continues from it, and the packager leaves it out of a bundle.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from training.manifest import read_manifest, save_manifest, sha256_of


def link_folder(models: Path, out: Path) -> None:
    """``out`` as a copy of ``models`` made of links (each model folder's files linked), so
    that replacing one model there leaves models/ alone."""
    for manifest in sorted(models.glob("*/manifest.json")):
        folder = out / manifest.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        for file in manifest.parent.iterdir():
            link = folder / file.name
            if not link.exists() and not link.is_symlink():
                link.symlink_to(file.resolve())


def replace_model(folder: Path, new_file: Path, provenance: dict) -> dict:
    """Put ``new_file`` in place of ``folder``'s model (a file, not a link) and update its
    manifest's sha256, bytes and provenance (the rest, "extra" included, as it was)."""
    manifest = read_manifest(folder)
    target = folder / manifest["file"]
    if target.is_symlink() or target.exists():
        target.unlink()
    shutil.copyfile(new_file, target)
    (folder / "manifest.json").unlink()  # a link to models/: never write through it
    manifest.update(sha256=sha256_of(target), bytes=target.stat().st_size,
                    provenance={**manifest.get("provenance", {}), **provenance})
    save_manifest(folder, manifest)
    return manifest


FLOAT_SUFFIX = ".float.onnx"


def float_model(folder: Path) -> Path:
    """The float file of the model in ``folder``: the one its manifest's ``provenance.float_file``
    names once an int8 file is installed, else the model's own file."""
    manifest = read_manifest(folder)
    return folder / manifest.get("provenance", {}).get("float_file", manifest["file"])


def float_source(onnx: Path) -> Path:
    """The float file to start from when given ``onnx``: the float file of an installed int8
    model (the file its folder's manifest names), else ``onnx`` itself."""
    manifest = onnx.parent / "manifest.json"
    if manifest.is_file() and read_manifest(onnx.parent)["file"] == onnx.name:
        return float_model(onnx.parent)
    return onnx


def install(built: Path, models: Path, name: str) -> dict:
    """Copy model ``name`` from the built folder into ``models`` with its new identity; the
    manifest's other fields, "extra" included, are taken from models/ as they are now. The float
    file the int8 one was made from stays beside it as ``<model>.float.onnx``."""
    source = read_manifest(built / name)
    folder = models / name
    manifest = read_manifest(folder)
    kept = folder / (Path(manifest["file"]).name.removesuffix(".onnx") + FLOAT_SUFFIX)
    current = float_model(folder)
    if sha256_of(current) != source["provenance"]["float_sha256"]:
        raise SystemExit(f"{name}: {built / name} was not quantized from {current}; "
                         "quantize again from this models folder")
    if current != kept:
        current.replace(kept)
    shutil.copyfile(built / name / source["file"], folder / manifest["file"])
    manifest.update(sha256=source["sha256"], bytes=source["bytes"],
                    provenance={**source["provenance"], "float_file": kept.name})
    save_manifest(folder, manifest)
    return manifest
