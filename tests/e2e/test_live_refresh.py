"""A running companion picks up a new catalog version without a restart: the look after an
``index update`` finds the new product and says the catalog was refreshed, while a look that was
already running when the update was published finishes on the old catalog. A real server on
loopback over real builds; the in-flight look is held at its start by a gate around the real
pipeline, so the update is published while it runs, every time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from companion.catalog.build import build_index
from companion.catalog.update import update_index
from companion.inference.embedder import Embedder
from companion.pipeline.look import LookPipeline
from companion.server.refresh import LivePipeline
from tests.support.catalog_feeds import pick, write_feed
from tests.support.companion_http import EXTENSION_ORIGIN, LiveCompanion, authorised, request
from tests.support.data import CATALOG, requires_data
from tests.support.serve_process import start_serve, stop

pytestmark = requires_data
ROWS = pick(["Tshirts", "Shorts", "Tops"], 4, ages=("adult",))
ARRIVING = pick(["Tshirts"], 1, skip=4, ages=("adult",))[0]  # in the shop from the update on
PHOTO = (CATALOG / ARRIVING["image_link"]).read_bytes()  # its own packshot: the query


class Gate:
    """Holds looks at their start while closed (after the live pipeline chose their catalog)."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()


class GatedPipeline:
    def __init__(self, pipeline: LookPipeline, gate: Gate) -> None:
        self.pipeline, self.gate = pipeline, gate
        self.index = pipeline.index

    def run(self, data: bytes, source: str = "", request=None):
        self.gate.entered.set()
        assert self.gate.open.wait(120), "the test never opened the gate"
        return self.pipeline.run(data, source=source, request=request)


def ids(look: dict) -> list[str]:
    return [m["id"] for item in look["items"] for m in item["matches"]]


@pytest.fixture
def shop(tmp_path, store):
    """(feed, index) of a shop without the arriving product yet."""
    feed = write_feed(tmp_path / "shop" / "feed.tsv", ROWS)
    out = tmp_path / "index"
    build_index(feed, out, Embedder(store), show_progress=False)
    return feed, out


def test_the_next_look_uses_the_new_index_and_one_in_flight_finishes_on_the_old(
        shop, store, tmp_path):
    feed, out = shop
    gate = Gate()
    live = LivePipeline(store, [out], factory=lambda s, c: GatedPipeline(LookPipeline(s, c), gate))
    companion = LiveCompanion(live, tmp_path / "pairings.json")
    try:
        headers = authorised(companion.pair(), **{"Content-Type": "image/jpeg"})

        def look() -> dict:
            answer = companion.request("POST", "/v1/looks?top_k=5", PHOTO, headers)
            assert answer.status == 200, answer.raw
            return answer.json

        before = look()
        assert ARRIVING["id"] not in ids(before) and "catalog_refreshed" not in before
        gate.open.clear()
        gate.entered.clear()
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(look)
            assert gate.entered.wait(60), "the look never started"
            write_feed(feed, [*ROWS, ARRIVING])
            assert update_index(feed, out, Embedder(store), show_progress=False).added == 1
            gate.open.set()
            held = in_flight.result(timeout=120)
        assert ARRIVING["id"] not in ids(held), "a look in flight finishes on the old index"
        assert "catalog_refreshed" not in held
        after = look()
        assert ids(after)[0] == ARRIVING["id"], "the next look finds the new product"
        assert after["catalog_refreshed"] is True
        assert [look["catalog_refreshed"] for look in companion.looks[-1:]] == [True], \
            "the results window is told too"
        assert "catalog_refreshed" not in look(), "said once"
    finally:
        gate.open.set()
        companion.stop()


def test_serve_follows_index_update_without_a_restart(shop, store, tmp_path):
    feed, out = shop
    process, port = start_serve(tmp_path, out, "--auto-approve-pairing")
    try:
        pairing = request(port, "POST", "/v1/pair", b'{"code": "246810"}',
                          {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
        headers = authorised(pairing.json["token"], **{"Content-Type": "image/jpeg"})
        first = request(port, "POST", "/v1/looks?top_k=5", PHOTO, headers).json
        assert ARRIVING["id"] not in ids(first)
        write_feed(feed, [*ROWS, ARRIVING])
        update_index(feed, out, Embedder(store), show_progress=False)
        second = request(port, "POST", "/v1/looks?top_k=5", PHOTO, headers).json
        assert ids(second)[0] == ARRIVING["id"] and second["catalog_refreshed"] is True
    finally:
        output = stop(process)
    assert "Catalog refreshed" in output
