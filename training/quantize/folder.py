"""A models folder with some files replaced: built beside models/ for judging, then installed."""

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


def install(built: Path, models: Path, name: str) -> dict:
    """Copy model ``name`` from the built folder into ``models`` with its new identity; the
    manifest's other fields, "extra" included, are taken from models/ as they are now."""
    source = read_manifest(built / name)
    manifest = read_manifest(models / name)
    shutil.copyfile(built / name / source["file"], models / name / manifest["file"])
    manifest.update(sha256=source["sha256"], bytes=source["bytes"],
                    provenance=source["provenance"])
    save_manifest(models / name, manifest)
    return manifest
