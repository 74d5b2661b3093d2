"""Several shops searched at once, each match saying its shop, and kids' products shown only when
asked for. Real builds of two small shops made from the shared catalog's rows (adults' and kids'
products of a few article types)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from companion.catalog.build import build_index
from companion.catalog.catalogs import Catalogs
from companion.catalog.index import CatalogIndex
from companion.errors import ErrorCode, LookError
from companion.inference.embedder import Embedder
from companion.pipeline.decode import decode_image
from companion.pipeline.look import LookPipeline, LookRequest
from companion.pipeline.look_output import look_to_json
from tests.support.catalog_feeds import pick, write_feed
from tests.support.data import CATALOG, STREET, requires_data

pytestmark = requires_data
# Bottoms like the README demo's (a woman in black jeans), for adults and kids, and tops.
ROWS = pick(["Jeans", "Leggings", "Capris", "Shorts", "Tshirts", "Tops"], 6)
NORTH, SOUTH = ROWS[0::2], ROWS[1::2]
DEMO_PHOTO = STREET / "images" / "ccp_0003.jpg"


@pytest.fixture(scope="module")
def embedder(store) -> Embedder:
    return Embedder(store)


@pytest.fixture(scope="module")
def shops(tmp_path_factory, embedder) -> Path:
    """A catalogs folder holding the indexes of two shops, north and south."""
    folder = tmp_path_factory.mktemp("catalogs")
    for name, rows in (("north", NORTH), ("south", SOUTH)):
        feed = write_feed(folder.parent / f"{name}-feed" / "feed.tsv", rows)
        build_index(feed, folder / name, embedder, show_progress=False, shop=name)
    return folder


@pytest.fixture(scope="module")
def catalogs(shops) -> Catalogs:
    return Catalogs.open([shops / "north", shops / "south"])


def vector_of(embedder: Embedder, row: dict):
    return embedder.predict([decode_image((CATALOG / row["image_link"]).read_bytes()).pixels])[0]


def test_a_products_own_photo_finds_it_in_its_own_shop(catalogs, embedder):
    for row, shop in ((NORTH[3], "north"), (SOUTH[3], "south")):
        vector = vector_of(embedder, row)
        category = catalogs.product(row["id"], shop)["category"]
        best = catalogs.search(category, vector, 1)[0]
        assert (best.id, best.shop) == (row["id"], shop)
        assert catalogs.product(row["id"], "north" if shop == "south" else "south") is None


def test_several_shops_merge_by_score_and_each_match_says_its_shop(catalogs, shops, embedder):
    vector = vector_of(embedder, SOUTH[0])
    category = catalogs.product(SOUTH[0]["id"])["category"]
    merged = catalogs.search(category, vector, 10)
    scores = [m.score for m in merged]
    assert scores == sorted(scores, reverse=True)
    assert {m.shop for m in merged} == {"north", "south"}
    alone = [m for name in ("north", "south")
             for m in CatalogIndex(shops / name).search(category, vector, 10)]
    best = sorted(alone, key=lambda m: -m.score)[:10]
    assert [(m.id, m.shop) for m in merged] == [(m.id, m.shop) for m in best]


def test_a_catalogs_folder_opens_every_shop_inside(shops):
    assert Catalogs.open([shops]).shops == ["north", "south"]


def test_two_shops_of_one_name_are_refused(tmp_path, embedder):
    folders = []
    for part, rows in (("a", NORTH[:2]), ("b", SOUTH[:2])):
        feed = write_feed(tmp_path / part / "feed.tsv", rows)
        build_index(feed, tmp_path / f"index-{part}", embedder, show_progress=False,
                    shop="same")
        folders.append(tmp_path / f"index-{part}")
    with pytest.raises(LookError) as error:
        Catalogs.open(folders)
    assert error.value.code == ErrorCode.BAD_ARGUMENT
    assert "--shop" in error.value.message


def test_age_groups_filter_the_search(catalogs, embedder):
    kids = [r for r in ROWS if r["age_group"] == "kids"]
    vector = vector_of(embedder, kids[0])
    category = catalogs.product(kids[0]["id"])["category"]
    everyone = catalogs.search(category, vector, 40, age_group="all")
    adults = catalogs.search(category, vector, 10, age_group="adult")
    children = catalogs.search(category, vector, 10, age_group="kids")
    assert {m.age_group for m in everyone} == {"adult", "kids"}
    assert adults and {m.age_group for m in adults} == {"adult"}
    assert children[0].id == kids[0]["id"] and {m.age_group for m in children} == {"kids"}
    assert [m.id for m in adults] == [m.id for m in everyone if m.age_group == "adult"][:10]
    assert catalogs.search(category, vector, 10) == everyone[:10], "the index's default: all"


def test_an_adults_look_shows_no_kids_product_unless_asked(store, catalogs):
    """The README's demo photo (a woman in black jeans) once showed "Gini and Jony Girls Black
    Leggings": a look shows adults' products unless asked for kids' or everyone's."""
    pipeline = LookPipeline(store, catalogs)
    data = DEMO_PHOTO.read_bytes()

    def ages(request: LookRequest) -> set[str]:
        look = look_to_json(pipeline.run(data, request=request))
        return {m["age_group"] for item in look["items"] for m in item["matches"]}

    assert ages(LookRequest(top_k=10)) == {"adult"}
    assert "kids" in ages(LookRequest(top_k=10, age_group="all"))
    assert ages(LookRequest(top_k=10, age_group="kids")) == {"kids"}


def test_look_searches_several_shops_and_prints_each_matchs_shop(shops):
    photo = CATALOG / SOUTH[4]["image_link"]
    command = [sys.executable, "-m", "companion.cli", "look", str(photo), "--json",
               "--index", str(shops / "north"), "--index", str(shops / "south"),
               "--age-group", "all", "--top-k", "8"]
    printed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    look = json.loads(printed.stdout)
    matches = [m for item in look["items"] for m in item["matches"]]
    assert (matches[0]["id"], matches[0]["shop"]) == (SOUTH[4]["id"], "south")
    assert {m["shop"] for m in matches} == {"north", "south"}
    folder = [sys.executable, "-m", "companion.cli", "look", str(photo), "--index", str(shops),
              "--top-k", "8"]
    summary = subprocess.run(folder, capture_output=True, text=True, timeout=300, check=True)
    assert "(south)" in summary.stdout and "(north)" in summary.stdout
