"""training.evaluate.look_retrieval: how a look's matches are scored for a query product, and a
real smoke run through `shop-the-look look --json` on a few query photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.support.data import CATALOG, requires_data, run_module
from training.data.catalog import read_feed
from training.evaluate.look_retrieval import Query, look_hits, table_rows

PRODUCTS = {
    "1": {"article_type": "Tshirts", "gender": "female", "base_colour": "Red"},
    "2": {"article_type": "Tshirts", "gender": "unisex", "base_colour": "Blue"},
    "3": {"article_type": "Jeans", "gender": "female", "base_colour": "Red"},
    "4": {"article_type": "Tshirts", "gender": "male", "base_colour": "Red"},
}


def query(name: str, group: str = "168×224 worn") -> Query:
    return Query(name, Path(f"{name}.jpg"), "female", "Tshirts", "Red", "topwear", group)


def item(category: str, *ids: str) -> dict:
    return {"category": category, "matches": [{"id": i} for i in ids]}


def test_the_first_item_of_the_products_category_is_scored_in_the_order_shown():
    looks = {
        "a.jpg": {"items": [item("bottomwear", "1"), item("topwear", "2", "1"),
                            item("topwear", "1")]},
        "b.jpg": {"items": [item("topwear", "4", "3", "1")]},  # a man's shirt first: a miss at 1
        "c.jpg": {"items": [item("bottomwear", "3")]},  # no topwear found: a miss everywhere
    }
    hits = look_hits([query("a"), query("b"), query("c")], looks, PRODUCTS)
    assert hits.found.tolist() == [True, True, False]
    assert hits.type[:, 0].tolist() == [True, False, False]  # unisex fits a woman's query
    assert hits.type_colour[:, 0].tolist() == [False, False, False]
    assert hits.type_colour.any(axis=1).tolist() == [True, True, False]


def test_rates_count_every_query_of_a_group_and_all():
    looks = {"a.jpg": {"items": [item("topwear", "1")]}, "b.jpg": {"items": []}}
    rows = table_rows([query("a"), query("b", "60×80 packshot")],
                      look_hits([query("a"), query("b", "60×80 packshot")], looks, PRODUCTS))
    assert rows["168×224 worn"]["type R@1"] == 1.0
    assert rows["60×80 packshot"]["found"] == 0.0
    assert rows["all"]["n"] == 2 and np.isclose(rows["all"]["type+colour R@1"], 0.5)


@requires_data
def test_a_smoke_run_looks_at_query_photos_and_prints_the_table(small_index_dir, tmp_path):
    out = tmp_path / "r.json"
    text = run_module("training.evaluate.look_retrieval", "--limit", "6", "--no-embedder-only",
                      "--index", str(small_index_dir), "--save", str(tmp_path / "looks.jsonl"),
                      "--json", str(out), timeout=600)
    assert "Through the look" in text
    result = json.loads(out.read_text())
    assert result["look path"]["all"]["n"] == 6
    assert len((tmp_path / "looks.jsonl").read_text().splitlines()) == 6


@requires_data
def test_the_tuning_split_leaves_out_the_monitoring_slice_and_nothing_else(tmp_path):
    # Settings are chosen with the monitoring slice's looks against an index built without it;
    # the query rows stay queries, so the evaluation never sees a setting's choice.
    run_module("training.evaluate.look_retrieval", "--write-tuning-split",
               str(tmp_path / "split.tsv"), timeout=120)
    feed = read_feed(CATALOG)
    written = dict(line.split("\t") for line in
                   (tmp_path / "split.tsv").read_text().splitlines()[1:])
    monitoring = {r["id"] for r in feed.monitoring_rows()}
    assert len(monitoring) == 518
    assert {i for i, s in written.items() if s == "tuning"} == monitoring
    assert {i for i, s in written.items() if s == "query"} == feed.ids_of("query")
    assert {i for i, s in written.items() if s == "index"} == feed.ids_of("index") - monitoring
