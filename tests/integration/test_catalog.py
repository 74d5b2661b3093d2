"""Catalog ingestion: feeds with bad rows, atomic builds, category and gender rules."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from companion.catalog.build import build_index
from companion.catalog.categories import category_of
from companion.catalog.feed import FeedProblem, read_feed
from companion.catalog.index import CatalogIndex, IndexManifest
from companion.catalog.versions import IndexVersions
from companion.errors import LookError
from companion.inference.embedder import Embedder
from companion.pipeline.decode import decode_image
from tests.support.data import CATALOG, requires_data

HEADER = "id\ttitle\tlink\timage_link\tproduct_type\tgender\tprice\tavailability\n"


@pytest.mark.parametrize(
    ("product_type", "google", "category"),
    [
        ("Apparel > Apparel > Topwear > Tshirts", "", "topwear"),
        ("Apparel > Apparel > Bottomwear > Skirts", "", "bottomwear"),
        ("Apparel > Apparel > Dress > Jumpsuit", "", "dress"),
        ("Apparel > Footwear > Shoes > Heels", "", "footwear"),
        ("Apparel > Accessories > Bags > Backpacks", "", "bag"),
        ("Apparel > Accessories > Watches > Watches", "", "other"),
        ("", "Apparel & Accessories > Clothing > Pants", "bottomwear"),
        ("Summer sale", "Apparel & Accessories > Shoes", "footwear"),
    ],
)
def test_products_are_sorted_into_categories(product_type, google, category):
    assert category_of(product_type, google) == category


def write_feed(folder, rows: list[str]) -> object:
    (folder / "images").mkdir(exist_ok=True)
    for image in ("1530.jpg", "1566.jpg"):
        shutil.copy(CATALOG / "images" / image, folder / "images" / image)
    (folder / "images" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    feed = folder / "feed.tsv"
    feed.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return feed


GOOD = ("1530\tTrack Jacket\thttps://shop.example/1530\timages/1530.jpg\tApparel > Topwear\tmale"
        "\t9.99 EUR\tin_stock")
CAP = "1566\tBlack Cap\thttps://shop.example/1566\timages/1566.jpg\tAccessories > Caps\tunisex\t\t"


@requires_data
def test_bad_rows_are_reported_with_their_line_and_skipped(tmp_path, store):
    feed = write_feed(tmp_path, [
        GOOD,
        "\tNo id\thttps://x\timages/1530.jpg\tTopwear\tmale\t\t",
        "777\tBroken photo\thttps://x\timages/broken.jpg\tTopwear\tfemale\t\t",
        "778\tMissing photo\thttps://x\timages/nowhere.jpg\tTopwear\tfemale\t\t",
        "1530\tDuplicate\thttps://x\timages/1530.jpg\tTopwear\tmale\t\t",
        CAP,
    ])
    report = build_index(feed, tmp_path / "index", Embedder(store), show_progress=False)
    assert report.counts == {"topwear": 1, "other": 1}
    problems = {p.line: p.message for p in report.problems}
    assert set(problems) == {3, 4, 5, 6}
    assert "missing id" in problems[3]
    assert "777" in problems[4] and "778" in problems[5]
    assert "duplicate" in problems[6]
    index = CatalogIndex(tmp_path / "index")
    assert index.product("1530")["title"] == "Track Jacket"
    assert index.product("777") is None


@requires_data
def test_a_limited_build_indexes_the_first_products_and_reads_no_further(tmp_path, store):
    feed = write_feed(tmp_path, [
        "\tNo id\thttps://x\timages/1530.jpg\tTopwear\tmale\t\t",
        GOOD,
        CAP,
        "\tAlso no id\thttps://x\timages/1530.jpg\tTopwear\tmale\t\t",
    ])
    report = build_index(feed, tmp_path / "index", Embedder(store), limit=1,
                         show_progress=False)
    assert report.counts == {"topwear": 1}
    assert [p.line for p in report.problems] == [2]  # the row after the limit was never read


def test_a_feed_without_the_needed_columns_is_refused(tmp_path):
    feed = tmp_path / "feed.tsv"
    feed.write_text("sku\tname\n1\tshirt\n")
    with pytest.raises(LookError) as caught:
        list(read_feed(feed))
    assert caught.value.code == "feed_columns"


def test_a_row_with_a_stray_tab_is_a_problem_not_a_crash(tmp_path):
    feed = tmp_path / "feed.tsv"
    feed.write_text(HEADER + GOOD + "\textra\n")
    assert isinstance(next(read_feed(feed)), FeedProblem)


class FailingEmbedder(Embedder):
    """An embedder that dies part way, like a build killed by the user."""

    def embed(self, crops):
        raise KeyboardInterrupt


@requires_data
def test_a_failed_build_leaves_the_previous_index_untouched(tmp_path, store):
    feed = write_feed(tmp_path, [GOOD, CAP])
    out = tmp_path / "index"
    build_index(feed, out, Embedder(store), show_progress=False)
    before, versions = IndexManifest.read(out), sorted((out / "versions").iterdir())
    with pytest.raises(KeyboardInterrupt):
        build_index(feed, out, FailingEmbedder(store), show_progress=False)
    assert IndexManifest.read(out) == before
    assert CatalogIndex(out).product("1530") is not None
    assert sorted((out / "versions").iterdir()) == versions, "nothing left of the failed build"


@requires_data
def test_the_manifest_records_the_embedder(small_index_dir, store):
    manifest = json.loads((IndexVersions(small_index_dir).current() / "manifest.json").read_text())
    embedder = Embedder(store)
    assert manifest["embedder"] == embedder.name
    assert manifest["embedder_sha256"] == embedder.manifest.embedding_sha256
    assert manifest["ndim"] == embedder.ndim
    assert manifest["metric"] == "cos"
    assert sum(manifest["counts"].values()) > 500
    assert manifest["built_at"]


@requires_data
def test_gender_filtering_keeps_that_gender_and_unisex(small_index, store):
    vector = Embedder(store).predict([np.full((80, 60, 3), 200, np.uint8)])[0]
    for gender in ("female", "male"):
        matches = small_index.search("topwear", vector, 20, gender)
        assert len(matches) == 20
        assert {m.gender for m in matches} <= {gender, "unisex"}
    assert {m.gender for m in small_index.search("topwear", vector, 60, None)} >= {"female", "male"}


@requires_data
def test_an_index_built_with_another_embedder_asks_for_a_rebuild(small_index):
    with pytest.raises(LookError) as caught:
        small_index.require_embedder("someone-else", "0" * 64)
    assert caught.value.code == "catalog_embedder_mismatch"
    assert "Rebuild" in caught.value.message


def test_a_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(LookError) as caught:
        CatalogIndex(tmp_path / "nothing")
    assert caught.value.code == "catalog_missing"
    assert "index build" in caught.value.message


def index_build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "companion.cli", "index", "build", *args],
                          capture_output=True, text=True, timeout=120)


@requires_data
def test_if_stale_skips_a_build_that_would_change_nothing(tmp_path):
    feed = write_feed(tmp_path, [GOOD, CAP])
    out = tmp_path / "index"
    command = [str(feed), "--out", str(out), "--if-stale"]
    first = index_build(*command)
    assert first.returncode == 0 and "Indexed 2 products" in first.stdout
    again = index_build(*command)
    assert "up to date" in again.stdout
    feed.write_text(feed.read_text() + GOOD.replace("1530", "1531", 1) + "\n")
    changed = index_build(*command)
    assert "Indexed" in changed.stdout


@requires_data
def test_index_build_with_a_split_indexes_only_the_rows_marked_index(tmp_path):
    feed = write_feed(tmp_path, [GOOD, CAP])
    split = tmp_path / "split.tsv"
    split.write_text("id\tsplit\n1530\tquery\n1566\tindex\n", encoding="utf-8")
    result = index_build(str(feed), "--out", str(tmp_path / "index"), "--split", str(split))
    assert result.returncode == 0, result.stderr
    assert "Indexed 1 products" in result.stdout and "Skipped 0 row(s)" in result.stdout
    index = CatalogIndex(tmp_path / "index")
    assert index.product("1566") is not None
    assert index.product("1530") is None
    assert index.manifest.counts == {"other": 1}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        pass


class PhotoServer:
    """A web shop's image server on 127.0.0.1: serves the files of one folder, 404 otherwise."""

    def __init__(self, folder) -> None:
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> PhotoServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@requires_data
def test_http_image_links_are_downloaded_at_build_time_and_a_404_is_reported(
    tmp_path, store, monkeypatch
):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    photos = tmp_path / "shop"
    photos.mkdir()
    shutil.copy(CATALOG / "images" / "1530.jpg", photos / "1530.jpg")
    embedder = Embedder(store)
    with PhotoServer(photos) as shop:
        feed = write_feed(tmp_path, [
            GOOD.replace("images/1530.jpg", f"{shop.url}/1530.jpg"),
            CAP.replace("images/1566.jpg", f"{shop.url}/gone.jpg"),
        ])
        report = build_index(feed, tmp_path / "index", embedder, show_progress=False)
    assert report.counts == {"topwear": 1}
    assert [(p.line, p.message) for p in report.problems] == [
        (3, "image of 1566 unreadable: HTTP 404 File not found")]
    index = CatalogIndex(tmp_path / "index")
    product = index.product("1530")
    assert product["image_link"] == f"{shop.url}/1530.jpg"
    assert product["image_path"].startswith(str(tmp_path / "index" / "image-cache")), \
        "a downloaded photo is kept in the index's image cache (docs/catalog.md)"
    photo = decode_image((CATALOG / "images" / "1530.jpg").read_bytes()).pixels
    (match,) = index.search("topwear", embedder.predict([photo])[0], 1)
    assert (match.id, match.score) == ("1530", 1.0), "the served photo is the one embedded"



def test_an_index_by_garment_is_stale_when_a_model_that_finds_the_garments_changes(tmp_path):
    """A worn product's crop comes from MoveNet and the detector, so their files and settings
    are part of what ``--if-stale`` compares; a bundle's optimised graph counts as the file it
    came from."""
    from companion.catalog.views import finders_fingerprint
    from companion.inference.store import ModelStore
    from companion.paths import models_dir

    for name in ("movenet-multipose", "garment-detector"):
        (tmp_path / name).mkdir()
        shutil.copy(models_dir() / name / "manifest.json", tmp_path / name)
    shipped = finders_fingerprint(ModelStore(tmp_path))
    assert shipped == finders_fingerprint(ModelStore(models_dir()))
    manifest = tmp_path / "garment-detector" / "manifest.json"
    data = json.loads(manifest.read_text())
    original = data["sha256"]
    data["sha256"] = "f" * 64  # another detector
    manifest.write_text(json.dumps(data))
    assert finders_fingerprint(ModelStore(tmp_path)) != shipped
    data["provenance"]["optimized_from"] = {  # its graph, optimised offline
        "file": "garment-detector.onnx", "sha256": original, "bytes": 1,
        "onnxruntime": "1", "provider": "CPUExecutionProvider", "level": "extended"}
    manifest.write_text(json.dumps(data))
    assert finders_fingerprint(ModelStore(tmp_path)) == shipped
    movenet = tmp_path / "movenet-multipose" / "manifest.json"
    pose = json.loads(movenet.read_text())
    pose.setdefault("extra", {})["input_size"] = 224  # the same file, asked at another size
    movenet.write_text(json.dumps(pose))
    assert finders_fingerprint(ModelStore(tmp_path)) != shipped
