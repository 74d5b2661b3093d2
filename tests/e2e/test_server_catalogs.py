"""``serve`` with two shops and everyone's products by default (``--index A --index B
--age-group all``), as a user runs it: matches name their shop, and a look request's
``age_group`` field overrides the default."""

from __future__ import annotations

import pytest

from companion.catalog.build import build_index
from companion.inference.embedder import Embedder
from tests.support.catalog_feeds import pick, write_feed
from tests.support.companion_http import EXTENSION_ORIGIN, authorised, request
from tests.support.data import CATALOG, requires_data
from tests.support.serve_process import start_serve, stop

pytestmark = requires_data
ROWS = pick(["Tshirts", "Tops"], 6)  # adults' and kids'
QUERY = next(row for row in ROWS if row["age_group"] == "kids")


@pytest.fixture(scope="module")
def shops(tmp_path_factory, store) -> list:
    folder = tmp_path_factory.mktemp("shops")
    for name, rows in (("north", ROWS[0::2]), ("south", ROWS[1::2])):
        feed = write_feed(folder / f"{name}-feed" / "feed.tsv", rows)
        build_index(feed, folder / name, Embedder(store), show_progress=False, shop=name)
    return [folder / "north", folder / "south"]


def test_serve_searches_both_shops_and_a_request_chooses_the_age_group(shops, tmp_path):
    process, port = start_serve(tmp_path, shops[0], "--index", str(shops[1]), "--age-group",
                                "all", "--auto-approve-pairing")
    try:
        pairing = request(port, "POST", "/v1/pair", b'{"code": "246810"}',
                          {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
        headers = authorised(pairing.json["token"], **{"Content-Type": "image/jpeg"})
        photo = (CATALOG / QUERY["image_link"]).read_bytes()

        def matches(query: str) -> list[dict]:
            answer = request(port, "POST", f"/v1/looks?top_k=12{query}", photo, headers)
            assert answer.status == 200, answer.raw
            return [m for item in answer.json["items"] for m in item["matches"]]

        everyone = matches("")
        assert everyone[0]["id"] == QUERY["id"], "serve's default here: everyone's products"
        assert {m["shop"] for m in everyone} == {"north", "south"}
        assert {m["age_group"] for m in everyone} == {"adult", "kids"}
        assert {m["age_group"] for m in matches("&age_group=adult")} == {"adult"}
        refused = request(port, "POST", "/v1/looks?age_group=teens", photo, headers)
        assert refused.status == 400 and refused.error_code == "bad_argument"
    finally:
        output = stop(process)
    assert str(shops[0]) in output and str(shops[1]) in output, "it says which catalogs it serves"
