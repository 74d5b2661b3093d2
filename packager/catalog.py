"""The brand's catalog index, made once and copied into the bundle.

The index is built by the companion's own ``index build`` (``--if-stale``: nothing is done when
the kept index was built from the same feed with the same embedder), in the brand's
``index_dir`` or ``build/<brand>/index``, so packaging again is quick. The bundle gets a copy of
its current version only, laid out as a versioned index folder (``CURRENT`` + ``versions/<id>``)
so the companion opens it like any other.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from companion.catalog.versions import MANIFEST, POINTER, VERSIONS, IndexVersions
from packager.brand import Brand

BUNDLED_ID = "bundled"  # the version id of an index from before versions, once bundled


def brand_index(brand: Brand, work: Path) -> Path:
    """The brand's index folder, built (or brought up to date) with ``index build``."""
    folder = brand.catalog.index_dir or work / "index"
    feed = brand.catalog.feed
    if feed.startswith(("http://", "https://")):
        feed = str(_download(feed, work / "feed" / Path(feed.split("?")[0]).name))
    command = [sys.executable, "-m", "companion.cli", "index", "build", feed, "--out",
               str(folder), "--if-stale", "--index-by", brand.catalog.index_by]
    if brand.catalog.split:
        command += ["--split", str(brand.catalog.split)]
    if brand.catalog.limit:
        command += ["--limit", str(brand.catalog.limit)]
    print(f"==> catalog: {' '.join(command[3:])}", flush=True)
    subprocess.run(command, check=True)
    return folder


def copy_current_version(index_dir: Path, target: Path) -> str:
    """Copy the current version of ``index_dir`` to ``target`` (a new index folder holding only
    it); its version id."""
    versions = IndexVersions(index_dir)
    source = versions.current()
    if not (source / MANIFEST).is_file():
        raise FileNotFoundError(f"{index_dir} holds no catalog index (no {MANIFEST})")
    version = versions.current_id() or BUNDLED_ID
    shutil.rmtree(target, ignore_errors=True)
    files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith(POINTER))
    (target / VERSIONS / version).mkdir(parents=True)
    for path in files:
        shutil.copy2(path, target / VERSIONS / version / path.name)
    (target / POINTER).write_text(f"{version}\n\n", encoding="utf-8")
    return version


def _download(url: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"==> downloading the feed {url}", flush=True)
    with urllib.request.urlopen(url, timeout=120) as answer, target.open("wb") as out:
        shutil.copyfileobj(answer, out)
    return target
