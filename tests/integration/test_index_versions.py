"""An index folder keeps versions and a pointer to the current one. A build publishes its
version in one atomic step; killed (``kill -9``) between any two steps it leaves a working index
at ``--out``, and the next build removes what it left. Real builds of a two-product feed made
from the shared catalog; the killed ones run ``shop-the-look index build`` in a process of their
own, paused at the step to kill (the test-only ``PAUSE_ENV``)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from companion.catalog.build import build_index
from companion.catalog.index import CatalogIndex, IndexManifest
from companion.catalog.versions import POINTER, VERSIONS, IndexVersions
from companion.inference.embedder import Embedder
from companion.pipeline.decode import decode_image
from tests.support.data import CATALOG, requires_data
from tests.support.paused import paused_at

pytestmark = requires_data
OLD, NEW = "Track Jacket", "Track Jacket, rebuilt"


def write_feed(folder: Path, title: str) -> Path:
    """A feed of two catalog products whose jacket is called ``title``."""
    (folder / "images").mkdir(exist_ok=True)
    for image in ("1530.jpg", "1566.jpg"):
        shutil.copy(CATALOG / "images" / image, folder / "images" / image)
    feed = folder / "feed.tsv"
    feed.write_text(
        "id\ttitle\tlink\timage_link\tproduct_type\tgender\tprice\tavailability\n"
        f"1530\t{title}\thttps://shop.example/1530\timages/1530.jpg\tApparel > Topwear\tmale\t\t\n"
        "1566\tCap\thttps://shop.example/1566\timages/1566.jpg\tAccessories > Caps\tunisex\t\t\n",
        encoding="utf-8")
    return feed


@pytest.fixture(scope="module")
def embedder(store) -> Embedder:
    return Embedder(store)


@pytest.fixture(scope="module")
def jacket(embedder) -> np.ndarray:
    """The jacket photo's vector: a search with it finds the jacket in any build of the feed."""
    photo = decode_image((CATALOG / "images" / "1530.jpg").read_bytes()).pixels
    return embedder.predict([photo])[0]


def answer(out: Path, jacket: np.ndarray) -> str:
    """The title of the jacket that the index at ``out`` finds: it opens and it searches."""
    index = CatalogIndex(out)
    try:
        (match,) = index.search("topwear", jacket, 1)
        return match.title
    finally:
        index.close()


def paused_build(feed: Path, out: Path, step: str):
    """``index build`` in its own process, paused at ``step`` until it is killed (SIGKILL: no
    cleanup of any kind runs) when the block ends."""
    return paused_at([sys.executable, "-m", "companion.cli", "index", "build", str(feed),
                      "--out", str(out)], step)


def assert_only_current_and_previous(out: Path) -> None:
    current, previous = (out / POINTER).read_text(encoding="utf-8").split()
    assert sorted(os.listdir(out)) == [POINTER, VERSIONS]
    assert sorted(os.listdir(out / VERSIONS)) == sorted([current, previous])


def flat_index(folder: Path, feed: Path, embedder: Embedder) -> Path:
    """An index as builds made it before versions: its files directly in the folder."""
    made = folder / "made"
    build_index(feed, made, embedder, show_progress=False)
    out = folder / "flat"
    shutil.copytree(IndexVersions(made).current(), out)
    return out


def test_a_build_publishes_a_version_and_keeps_the_previous_one(tmp_path, embedder, jacket):
    out = tmp_path / "index"
    build_index(write_feed(tmp_path, OLD), out, embedder, show_progress=False)
    first = IndexVersions(out).current_id()
    assert first is not None and (out / VERSIONS / first / "manifest.json").is_file()
    build_index(write_feed(tmp_path, NEW), out, embedder, show_progress=False)
    second = IndexVersions(out).current_id()
    assert (out / POINTER).read_text(encoding="utf-8").split() == [second, first]
    assert answer(out, jacket) == NEW
    build_index(write_feed(tmp_path, OLD), out, embedder, show_progress=False)
    assert first not in os.listdir(out / VERSIONS), "two builds later, a version goes"
    assert_only_current_and_previous(out)


# (index at --out before, step killed at, what --out answers after the kill): the old index
# until the pointer is replaced, the new one from then on
KILLS = [
    *[("versions", step, OLD) for step in ("building", "staged", "renamed")],
    *[("versions", step, NEW) for step in ("pointed", "cleaned")],
    ("flat", "renamed", OLD),
    *[("flat", step, NEW) for step in ("pointed", "migrating", "cleaned")],
]


@pytest.mark.parametrize(("start", "step", "after_kill"), KILLS,
                         ids=[f"{start}-{step}" for start, step, _ in KILLS])
def test_a_build_killed_at_any_step_leaves_a_working_index_and_the_next_build_cleans_up(
    start, step, after_kill, tmp_path, embedder, jacket
):
    if start == "flat":
        out = flat_index(tmp_path, write_feed(tmp_path, OLD), embedder)
    else:
        out = tmp_path / "index"
        for title in (OLD, NEW, OLD):  # two versions on disk, so publishing also retires one
            build_index(write_feed(tmp_path, title), out, embedder, show_progress=False)
    with paused_build(write_feed(tmp_path, NEW), out, step):
        pass
    assert answer(out, jacket) == after_kill
    build_index(write_feed(tmp_path, OLD), out, embedder, show_progress=False)
    assert answer(out, jacket) == OLD
    assert_only_current_and_previous(out)


def test_an_index_from_before_versions_becomes_the_previous_version(tmp_path, embedder):
    out = flat_index(tmp_path, write_feed(tmp_path, OLD), embedder)
    before = IndexManifest.read(out)
    left_by_old_builds = [tmp_path / ".flat.building-x1y2", tmp_path / ".flat.old-1764000000"]
    for folder in left_by_old_builds:
        folder.mkdir()
    build_index(write_feed(tmp_path, NEW), out, embedder, show_progress=False)
    assert_only_current_and_previous(out)
    assert not any(folder.exists() for folder in left_by_old_builds)
    previous = (out / POINTER).read_text(encoding="utf-8").split()[1]
    assert IndexManifest.read(out / VERSIONS / previous) == before


def test_a_build_leaves_a_running_build_alone_and_cleans_up_after_it_once_killed(
    tmp_path, embedder, jacket
):
    out = tmp_path / "index"
    build_index(write_feed(tmp_path, OLD), out, embedder, show_progress=False)
    with paused_build(write_feed(tmp_path, NEW), out, "building"):
        (staging,) = (out / VERSIONS).glob("*.building")
        build_index(write_feed(tmp_path, OLD), out, embedder, show_progress=False)
        assert staging.is_dir(), "the other build's work is its own"
    build_index(write_feed(tmp_path, NEW), out, embedder, show_progress=False)
    assert not staging.exists()
    assert answer(out, jacket) == NEW
    assert_only_current_and_previous(out)


@pytest.mark.skipif(os.name != "posix", reason="Windows keeps an open version's files anyway")
def test_an_open_index_keeps_answering_while_newer_builds_replace_it(tmp_path, embedder, jacket):
    out = tmp_path / "index"
    build_index(write_feed(tmp_path, OLD), out, embedder, show_progress=False)
    index = CatalogIndex(out)
    opened = index.version_id
    for title in (NEW, NEW):
        build_index(write_feed(tmp_path, title), out, embedder, show_progress=False)
    assert opened not in os.listdir(out / VERSIONS)
    (match,) = index.search("topwear", jacket, 1)
    assert (match.title, index.product("1530")["title"]) == (OLD, OLD)
    index.close()
    assert answer(out, jacket) == NEW

