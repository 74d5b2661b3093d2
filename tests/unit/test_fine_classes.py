"""Garments by name: the fine class within a category, and the catalog's products that fit it."""

from __future__ import annotations

import sqlite3

import numpy as np

from companion.catalog.index import class_types
from companion.inference.embedder import Embedded
from companion.pipeline.fine_classes import fine_class, fitting_first, street_class
from companion.types import Match

STREET = ["shirt", "jacket", "pants", "shorts", "skirt", "dress", "shoe", "bag", "hat",
          "sunglasses"]


def embedded(*rows: dict[str, float]) -> Embedded:
    """Label outputs with the given street-class probabilities (the rest share what is left)."""
    table = np.zeros((len(rows), len(STREET)), np.float32)
    for i, row in enumerate(rows):
        for name, p in row.items():
            table[i, STREET.index(name)] = p
    return Embedded(np.zeros((len(rows), 4), np.float32), {"street_class": table},
                    {"street_class": STREET})


def test_a_bottom_is_named_by_the_likeliest_bottom_class_even_when_another_category_leads():
    # The head thinks "dress" most, but the detector said bottomwear: the skirt is the answer,
    # with its share among the bottoms.
    answer = embedded({"dress": 0.5, "skirt": 0.3, "pants": 0.1})
    assert fine_class(answer, 0, "bottomwear") == ("skirt", 0.75)


def test_a_top_is_a_shirt_or_a_jacket():
    answer = embedded({"shirt": 0.2, "jacket": 0.6}, {"shirt": 0.7, "jacket": 0.1})
    assert fine_class(answer, 0, "topwear")[0] == "jacket"
    assert fine_class(answer, 1, "topwear")[0] == "shirt"


def test_footwear_is_named_as_the_pair():
    assert fine_class(embedded({"shoe": 0.9}), 0, "footwear") == ("shoes", 1.0)
    assert street_class("shoes") == "shoe"
    assert street_class("skirt") == "skirt"


def test_no_name_without_the_label_head_or_for_an_unknown_category():
    bare = Embedded(np.zeros((1, 4), np.float32))
    assert fine_class(bare, 0, "topwear") == ("", 0.0)
    assert fine_class(embedded({"shirt": 1.0}), 0, "other") == ("", 0.0)


def test_fitting_products_come_first_each_part_in_its_own_order():
    pool = [Match(str(i), 1 - i / 10, "", "", "", article_type=t)
            for i, t in enumerate(["Shorts", "Skirts", "Jeans", "Skirts"])]
    first, rest = fitting_first(pool, frozenset({"Skirts"}))
    assert [m.id for m in first] == ["1", "3"]
    assert [m.id for m in rest] == ["0", "2"]


def catalog(rows: list[tuple[str, str, int]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    db.execute("CREATE TABLE products (article_type TEXT, street_class TEXT)")
    for article_type, cls, count in rows:
        db.executemany("INSERT INTO products VALUES (?, ?)", [(article_type, cls)] * count)
    return db


def test_the_class_table_comes_from_what_the_catalogs_own_products_look_like():
    table = class_types(catalog([
        ("Skirts", "skirt", 19), ("Skirts", "pants", 1),  # one misread skirt fits nothing else
        ("Sweaters", "shirt", 6), ("Sweaters", "jacket", 4),  # knitwear fits both
        ("Denim Trousers & Chinos", "pants", 5),  # the retailer's own words
        ("Gift cards", "", 3),  # no class: fits nothing
    ]))
    assert table["skirt"] == {"Skirts"}
    assert table["pants"] == {"Denim Trousers & Chinos"}
    assert table["shirt"] == {"Sweaters"}
    assert table["jacket"] == {"Sweaters"}
    assert "" not in table
