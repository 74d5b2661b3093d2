"""Shared fixtures (real models, a small real catalog index, a live companion) and the suite's
layout: each folder is a marker, so ``pytest -m "not e2e"`` and ``pytest tests/unit`` pick a cost.

- ``unit``: no data, no models: seconds;
- ``integration``: real models and the shared data;
- ``e2e``: a real browser, a real window or a live server on loopback;
- ``training_smoke``: the training and evaluation modules on a few examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.catalog.build import build_index
from companion.catalog.index import CatalogIndex
from companion.inference.embedder import Embedder
from companion.inference.store import ModelStore
from companion.pipeline.look import LookPipeline
from tests.support.companion_http import CountingPipeline, LiveCompanion
from tests.support.data import CATALOG
from training.data.catalog import read_feed

pytest_plugins = ["tests.support.strict_skips"]

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "integration", "e2e", "training_smoke")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the folder it lives in."""
    for item in items:
        layer = Path(item.fspath).resolve().relative_to(TESTS).parts[0]
        if layer in LAYERS:
            item.add_marker(layer)


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
