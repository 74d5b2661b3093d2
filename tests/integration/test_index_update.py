"""``index update`` brings an index up to date with a changed feed: new products are added, gone
ones removed, only changed photos embedded again (by their bytes), other changes (prices)
written without embedding; nothing is done, and nothing downloaded, when nothing changed; a
``kill -9`` at any step leaves a working index. Real builds of feeds made from the shared catalog,
their photos served by a loopback CDN that logs every request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from companion.catalog.build import build_index
from companion.catalog.index import MANIFEST, CatalogIndex, IndexManifest
from companion.catalog.update import update_index
from companion.catalog.versions import POINTER, VERSIONS, IndexVersions
from companion.catalog.views import ProductViews
from companion.errors import ErrorCode, LookError
from companion.inference.embedder import PHOTO_WEIGHT, Embedder
from companion.pipeline.decode import decode_image
from tests.support.catalog_feeds import pick, write_feed
from tests.support.data import CATALOG, requires_data
from tests.support.image_server import ImageServer
from tests.support.paused import paused_at

pytestmark = requires_data
ROWS = pick(["Tshirts", "Tops", "Shorts", "Jeans"], 5)  # 40 products, adults' and kids'
NEW = pick(["Tshirts", "Shorts"], 1, skip=5)[:2]  # 2 more of the same kinds
PHOTOS = pick(["Tops", "Jeans"], 1, skip=5)[:3]  # photos of products in no feed here


class CountingEmbedder(Embedder):
    """The shipped embedder, counting the images it embeds."""

    embedded = 0

    def embed(self, crops):
        self.embedded += len(crops)
        return super().embed(crops)


@pytest.fixture(scope="module")
def cdn() -> Iterator[ImageServer]:
    with ImageServer(CATALOG / "images") as server:
        yield server


@pytest.fixture
def embedder(store) -> CountingEmbedder:
    return CountingEmbedder(store)


def served_feed(path: Path, rows: list[dict], cdn: ImageServer) -> Path:
    return write_feed(path, rows, lambda row: cdn.url(Path(row["image_link"]).name))


def photo_vector(embedder: Embedder, data: bytes) -> np.ndarray:
    return embedder.predict([decode_image(data).pixels])[0]


def changed(rows: list[dict], cdn: ImageServer) -> tuple[list[dict], dict[str, str]]:
    """The feed a day later: 2 products gone, 2 new, 5 new prices and 3 new photos (each now
    shows the photo of another product, from outside the feed). Returns the rows and, for each
    changed photo, the id of the product whose photo it now shows."""
    kept = [dict(row) for row in rows[2:]]
    for row in kept[:5]:
        row["price"] = "1.99 EUR"
    photos = {}
    for row, other in zip(kept[5:8], PHOTOS, strict=True):
        cdn.replace(Path(row["image_link"]).name, (CATALOG / other["image_link"]).read_bytes())
        photos[row["id"]] = other["id"]
    return [*kept, *NEW], photos


def test_an_update_does_exactly_what_the_feed_changed_and_then_nothing(tmp_path, cdn, embedder):
    out = tmp_path / "index"
    feed = served_feed(tmp_path / "shop" / "feed.tsv", ROWS, cdn)
    build_index(feed, out, embedder, show_progress=False)
    first = IndexVersions(out).current_id()
    old = CatalogIndex(out)
    rows, photos = changed(ROWS, cdn)
    served_feed(feed, rows, cdn)
    embedded, downloads = embedder.embedded, len(cdn.downloads())

    report = update_index(feed, out, embedder, show_progress=False)

    assert (report.added, report.updated, report.removed, report.re_embedded,
            report.unchanged) == (2, 8, 2, 5, 30)
    assert report.summary() == "added 2, updated 8, removed 2, re-embedded 5, unchanged 30"
    assert embedder.embedded - embedded == 5, "only the new and the changed photos are embedded"
    assert len(cdn.downloads()) - downloads == 5, "unchanged photos answer 304, not a download"
    index = CatalogIndex(out)
    assert index.version_id == report.version != first
    assert all(index.product(row["id"]) is None for row in ROWS[:2])
    assert [index.product(row["id"])["price"] for row in rows[:5]] == ["1.99 EUR"] * 5
    # Kept and re-embedded rows alike keep the street class the catalog's class table reads.
    assert all(index.product(row["id"])["street_class"] for row in rows)
    assert "Shorts" in index.class_types["shorts"] and "Jeans" in index.class_types["pants"]
    for product_id, shown in photos.items():  # found by the photo it shows now
        vector = photo_vector(embedder, (CATALOG / "images" / f"{shown}.jpg").read_bytes())
        category = index.product(product_id)["category"]
        assert index.search(category, vector, 1)[0].id == product_id
    for row in NEW:
        vector = photo_vector(embedder, (CATALOG / row["image_link"]).read_bytes())
        category = index.product(row["id"])["category"]
        assert index.search(category, vector, 1)[0].id == row["id"]
    unchanged = rows[10]  # neither price nor photo changed: its vector is the old one, as is
    vector = photo_vector(embedder, (CATALOG / unchanged["image_link"]).read_bytes())
    category = unchanged_category = index.product(unchanged["id"])["category"]
    assert [(m.id, m.score) for m in index.search(category, vector, 1)] == \
        [(m.id, m.score) for m in old.search(unchanged_category, vector, 1)]

    embedded, downloads = embedder.embedded, len(cdn.downloads())
    again = update_index(feed, out, embedder, show_progress=False)
    assert again.summary() == "added 0, updated 0, removed 0, re-embedded 0, unchanged 40"
    assert not again.changed and again.version is None
    assert IndexVersions(out).current_id() == report.version, "nothing was published"
    assert embedder.embedded == embedded
    assert len(cdn.downloads()) == downloads, "a second run downloads nothing"


def test_the_command_prints_what_it_did_and_the_same_as_json(tmp_path, embedder):
    out = tmp_path / "index"
    feed = write_feed(tmp_path / "shop" / "feed.tsv", ROWS[:6])
    build_index(feed, out, embedder, show_progress=False)
    write_feed(feed, [*ROWS[1:6], NEW[0]])
    command = [sys.executable, "-m", "companion.cli", "index", "update", str(feed), "--out",
               str(out)]
    printed = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300,
                             check=True)
    report = json.loads(printed.stdout)
    assert {k: report[k] for k in ("added", "updated", "removed", "re_embedded", "unchanged")} \
        == {"added": 1, "updated": 0, "removed": 1, "re_embedded": 1, "unchanged": 5}
    assert report["version"] == IndexVersions(out).current_id()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    assert "Nothing to do" in again.stdout
    assert "added 0, updated 0, removed 0, re-embedded 0, unchanged 6" in again.stdout


def test_a_photo_that_cannot_be_fetched_keeps_a_known_product_and_skips_a_new_one(
        tmp_path, cdn, embedder):
    out = tmp_path / "index"
    feed = served_feed(tmp_path / "shop" / "feed.tsv", ROWS[:4], cdn)
    build_index(feed, out, embedder, show_progress=False)
    broken = {ROWS[0]["id"], NEW[0]["id"]}  # their photos now answer 404

    def link(row: dict) -> str:
        name = Path(row["image_link"]).name
        return cdn.url(name, "status/404") if row["id"] in broken else cdn.url(name)

    write_feed(feed, [*ROWS[:4], NEW[0]], link)
    report = update_index(feed, out, embedder, show_progress=False)
    assert (report.added, report.updated, report.re_embedded, report.unchanged) == (0, 1, 0, 3)
    assert [p.line for p in report.stale] == [2] and "404" in report.stale[0].message
    assert [p.line for p in report.problems] == [6] and NEW[0]["id"] in report.problems[0].message
    index = CatalogIndex(out)
    assert index.product(ROWS[0]["id"]) is not None and index.product(NEW[0]["id"]) is None


@pytest.mark.parametrize(("index_by", "re_embedded"), [("photo", 0), ("garment", 1)])
def test_a_product_that_changes_category_moves_with_its_vector(index_by, re_embedded, tmp_path,
                                                                 store, embedder):
    """By photo the vector moves as it is; by garment the crop depends on the category, so the
    photo is embedded again."""
    views = ProductViews(store) if index_by == "garment" else None
    out = tmp_path / "index"
    rows = [row for row in ROWS if row["article_type"] in ("Tshirts", "Shorts")][:4]
    feed = write_feed(tmp_path / "shop" / "feed.tsv", rows)
    build_index(feed, out, embedder, views=views, show_progress=False)
    shirt = next(row for row in rows if row["article_type"] == "Tshirts")
    moved = [{**row, "product_type": "Apparel > Apparel > Bottomwear > Shorts"}
             if row is shirt else row for row in rows]
    write_feed(feed, moved)
    report = update_index(feed, out, embedder, views=views, show_progress=False)
    assert (report.updated, report.re_embedded, report.unchanged) == (1, re_embedded, 3)
    index = CatalogIndex(out)
    vector = photo_vector(embedder, (CATALOG / shirt["image_link"]).read_bytes())
    assert shirt["id"] not in [m.id for m in index.search("topwear", vector, 4)]
    assert shirt["id"] in [m.id for m in index.search("bottomwear", vector, 4)]
    assert sum(IndexManifest.read(out).counts.values()) == 4


def test_an_index_of_another_embedder_or_from_before_updates_says_to_rebuild(tmp_path, embedder):
    out = tmp_path / "index"
    feed = write_feed(tmp_path / "shop" / "feed.tsv", ROWS[:3])
    build_index(feed, out, embedder, show_progress=False)
    manifest_path = IndexVersions(out).current() / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for change, code in ((lambda m: m.update(embedder_sha256="0" * 64),
                          ErrorCode.CATALOG_EMBEDDER_MISMATCH),
                         (lambda m: m.pop("index_by"), ErrorCode.INDEX_NOT_UPDATABLE)):
        edited = dict(manifest)
        change(edited)
        manifest_path.write_text(json.dumps(edited), encoding="utf-8")
        with pytest.raises(LookError) as error:
            update_index(feed, out, embedder, show_progress=False)
        assert error.value.code == code
        assert "index build" in error.value.message


# Where a killed update leaves --out: the old prices until the pointer is replaced, the new
# ones from then on. "updating" is update's own step (old vectors read, new rows not written).
KILLS = [("building", "9.00 EUR"), ("updating", "9.00 EUR"), ("staged", "9.00 EUR"),
         ("renamed", "9.00 EUR"), ("pointed", "1.00 EUR"), ("cleaned", "1.00 EUR")]


def paused_update(feed: Path, out: Path, step: str):
    """``index update`` in its own process, paused at ``step`` until it is killed (SIGKILL)."""
    return paused_at([sys.executable, "-m", "companion.cli", "index", "update", str(feed),
                      "--out", str(out), "--json"], step)


def priced(rows: list[dict], price: str) -> list[dict]:
    return [{**row, "price": price} for row in rows]


@pytest.mark.parametrize(("step", "after_kill"), KILLS, ids=[step for step, _ in KILLS])
def test_an_update_killed_at_any_step_leaves_a_working_index(step, after_kill, tmp_path,
                                                              embedder):
    out = tmp_path / "index"
    feed = tmp_path / "shop" / "feed.tsv"
    for price in ("8.00 EUR", "9.00 EUR"):  # two versions: publishing also retires one
        build_index(write_feed(feed, priced(ROWS[:4], price)), out, embedder,
                    show_progress=False)
    counts = IndexManifest.read(out).counts
    with paused_update(write_feed(feed, priced(ROWS[:4], "1.00 EUR")), out, step):
        pass
    index = CatalogIndex(out)
    assert index.product(ROWS[0]["id"])["price"] == after_kill
    assert IndexManifest.read(out).counts == counts
    write_feed(feed, priced(ROWS[:4], "2.00 EUR"))
    assert update_index(feed, out, embedder, show_progress=False).updated == 4
    assert CatalogIndex(out).product(ROWS[0]["id"])["price"] == "2.00 EUR"
    current, previous = (out / POINTER).read_text(encoding="utf-8").split()
    assert sorted(os.listdir(out / VERSIONS)) == sorted([current, previous]), \
        "the next update removes what the killed one left"


def test_an_index_that_weighs_worn_photos_otherwise_says_to_rebuild(tmp_path, store, embedder):
    views = ProductViews(store)
    out = tmp_path / "index"
    feed = write_feed(tmp_path / "shop" / "feed.tsv", ROWS[:3])
    build_index(feed, out, embedder, views=views, show_progress=False)
    manifest_path = IndexVersions(out).current() / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["photo_weight"] == PHOTO_WEIGHT
    manifest_path.write_text(json.dumps({**manifest, "photo_weight": PHOTO_WEIGHT + 1}),
                             encoding="utf-8")
    with pytest.raises(LookError) as error:
        update_index(feed, out, embedder, views=views, show_progress=False)
    assert error.value.code == ErrorCode.INDEX_NOT_UPDATABLE
    assert "index build" in error.value.message
