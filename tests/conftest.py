"""Shared fixtures: the real data under ../shared/data and a small real catalog index."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from companion.catalog.build import build_index
from companion.catalog.index import CatalogIndex
from companion.inference.store import ModelStore
from companion.pipeline.embed import Embedder
from companion.pipeline.look import LookPipeline
from tests.companion_http import CountingPipeline, LiveCompanion
from training.data import data_root
from training.data.catalog import read_feed

REPO = Path(__file__).resolve().parent.parent
DATA = data_root()
STREET = DATA / "street"
CATALOG = DATA / "catalog"
FACES = DATA / "faces"

requires_data = pytest.mark.skipif(
    not (CATALOG / "feed.tsv").is_file(), reason="../shared/data is not present"
)


@pytest.fixture(scope="session")
def store() -> ModelStore:
    return ModelStore()


def small_feed_ids(per_article_type: int = 8) -> set[str]:
    """A few index-split products of every article type: small, but every category present."""
    chosen: dict[str, list[str]] = {}
    for row in read_feed(CATALOG).rows_of("index"):
        key = f"{row['article_type']}/{row['gender']}"
        if len(chosen.setdefault(key, [])) < per_article_type:
            chosen[key].append(row["id"])
    return {i for ids in chosen.values() for i in ids}


@pytest.fixture(scope="session")
def small_index_dir(tmp_path_factory, store: ModelStore) -> Path:
    """A real index of ~800 catalog products, built once per test session."""
    out = tmp_path_factory.mktemp("catalog") / "small"
    ids = small_feed_ids()
    build_index(CATALOG / "feed.tsv", out, Embedder(store), include=lambda p: p.id in ids,
                show_progress=False)
    return out


@pytest.fixture(scope="session")
def small_index(small_index_dir: Path) -> CatalogIndex:
    return CatalogIndex(small_index_dir)


@pytest.fixture(scope="session")
def pipeline(store: ModelStore, small_index: CatalogIndex) -> LookPipeline:
    return LookPipeline(store, small_index)


def skip_unless_installed(reasons: dict[str, str]) -> None:
    """Skip the calling test module unless every package is installed.

    Checked without importing: training runs in the script's own process, and importing its
    packages here (ultralytics pulls in OpenCV and its Qt) would leak into later tests.
    """
    for package, reason in reasons.items():
        if importlib.util.find_spec(package) is None:
            pytest.skip(reason, allow_module_level=True)


def run_module(module: str, *args: str, timeout: int) -> str:
    """Run ``python -m <module>`` (e.g. ``training.embedder``) with this interpreter from the
    repository root; its output, or a failure with its tail."""
    run = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout + run.stderr


def street_photo(name: str) -> bytes:
    return (STREET / "images" / name).read_bytes()


# A live companion on loopback, one per test module that asks for it (module scope), so each
# module counts its own pipeline runs.
@pytest.fixture(scope="module")
def counting(pipeline) -> CountingPipeline:
    return CountingPipeline(pipeline)


@pytest.fixture(scope="module")
def companion(counting, tmp_path_factory):
    live = LiveCompanion(counting, tmp_path_factory.mktemp("config") / "pairings.json")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def token(companion) -> str:
    return companion.pair()
