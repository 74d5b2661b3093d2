"""Who a product is for decides whether a search may show it, before its row is read."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from companion.catalog.audience import Audience

PRODUCTS = [  # key, gender, age group
    (0, "female", "adult"), (1, "male", "adult"), (2, "unisex", "adult"),
    (3, "female", "kids"), (5, "", None), (6, "girls", "adult"),
]


@pytest.fixture
def audience() -> Audience:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE products (key INTEGER PRIMARY KEY, gender TEXT, age_group TEXT)")
    db.executemany("INSERT INTO products VALUES (?, ?, ?)", PRODUCTS)
    return Audience.read(db, has_age_group=True)


def admitted(audience: Audience, gender: str | None, age_group: str) -> list[int]:
    keys = np.array([0, 1, 2, 3, 4, 5, 6, 99, -1])
    return [int(k) for k in keys[audience.admits(keys, gender, age_group)]]


def test_a_gender_admits_its_own_and_unisex_products(audience):
    assert admitted(audience, "female", "all") == [0, 2, 3]
    assert admitted(audience, "male", "all") == [1, 2]


def test_no_gender_admits_every_product_of_the_catalog(audience):
    assert admitted(audience, None, "all") == [0, 1, 2, 3, 5, 6]
    assert admitted(audience, "unknown", "all") == [0, 1, 2, 3, 5, 6]


def test_an_age_group_admits_only_its_products_and_a_missing_one_is_adult(audience):
    assert admitted(audience, None, "kids") == [3]
    assert admitted(audience, None, "adult") == [0, 1, 2, 5, 6]
    assert admitted(audience, "female", "adult") == [0, 2]


def test_an_index_without_age_groups_is_all_adult():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE products (key INTEGER PRIMARY KEY, gender TEXT)")
    db.executemany("INSERT INTO products VALUES (?, ?)", [(0, "male"), (1, "female")])
    old = Audience.read(db, has_age_group=False)
    keys = np.array([0, 1])
    assert old.admits(keys, None, "adult").all()
    assert not old.admits(keys, None, "kids").any()
