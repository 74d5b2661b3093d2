"""A catalog search returns the products nearest to the garment, not a graph's approximation."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import numpy as np
from usearch.index import Index

from companion.catalog.build import SCHEMA
from companion.catalog.index import DATABASE, FORMAT_VERSION, MANIFEST, CatalogIndex


def a_catalog_of(vectors: np.ndarray, folder) -> CatalogIndex:
    """An index folder with one category whose products are ``vectors`` (ids: their row)."""
    index = Index(ndim=vectors.shape[1], metric="cos", dtype="f32")
    index.add(np.arange(len(vectors)), vectors)
    index.save(str(folder / "topwear.usearch"))
    with closing(sqlite3.connect(folder / DATABASE)) as db, db:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO products (key, id, title, category, gender, age_group) "
            "VALUES (?, ?, ?, 'topwear', ?, 'adult')",
            [(key, str(key), f"Top {key}", ("female", "male", "unisex")[key % 3])
             for key in range(len(vectors))])
    (folder / MANIFEST).write_text(json.dumps({
        "format_version": FORMAT_VERSION, "embedder": "test", "embedder_sha256": "0" * 64,
        "ndim": vectors.shape[1], "metric": "cos", "dtype": "f32",
        "counts": {"topwear": len(vectors)}, "built_at": "2026-12-07T00:00:00Z", "feed": "",
    }))
    return CatalogIndex(folder)


def nearest_first(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.argsort(-(unit @ (query / np.linalg.norm(query))), kind="stable")


def test_a_catalog_of_thousands_gives_the_true_nearest_products_in_order(tmp_path):
    # Random vectors are where a proximity graph guesses worst; a catalog's category is small
    # enough to compare the garment with every product.
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3000, 96)).astype(np.float32)
    catalog = a_catalog_of(vectors, tmp_path)
    for query in rng.standard_normal((12, 96)).astype(np.float32):
        expected = nearest_first(vectors, query)
        assert [m.id for m in catalog.search("topwear", query, 30)] == [
            str(key) for key in expected[:30]]
        women = [key for key in expected if key % 3 != 1][:30]  # women's and unisex products
        assert [m.id for m in catalog.search("topwear", query, 30, gender="female")] == [
            str(key) for key in women]
