"""A built catalog index: one usearch index per category (memory-mapped) plus SQLite metadata.

An index folder holds versions and a pointer to the current one (companion/catalog/versions.py);
opening it opens the current version, or the folder itself for an index from before versions.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from usearch.index import Index

from companion.catalog.audience import Audience
from companion.catalog.versions import DATABASE, MANIFEST, IndexVersions
from companion.errors import ErrorCode, LookError
from companion.types import Match

# 2: age_group, gtin, mpn and image_sha256 columns; shop, index_by. 3: street_class column.
FORMAT_VERSION = 3
OVERFETCH = 4  # gender and age filtering drop rows after the search; ask for more up front
# A category up to this many products is searched exhaustively: on the demo catalog (3,000
# products at most) that is faster than the graph at a look's 30-1,440 neighbours (0.4 against
# 0.6 ms a search) and finds the true nearest, where the graph missed some of the 30 nearest in
# 5 of 117 searches of 30 street looks. At 10,000 both take about 1.5 ms; beyond, the graph wins.
EXACT_SEARCH_MAX = 10_000
AGE_GROUPS = ("adult", "kids", "all")  # a look's choice; rows are adult or kids
# An article type fits a street class when at least this share of its products' photos look
# like it to the embedder: sweaters fit both "shirt" and "jacket", as the street data labels
# them; a stray misread product does not make skirts fit "pants".
FIT_SHARE = 0.25


@dataclass(frozen=True)
class IndexManifest:
    format_version: int
    embedder: str
    embedder_sha256: str
    ndim: int
    metric: str
    dtype: str
    counts: dict[str, int]
    built_at: str
    feed: str
    source_sha256: str = ""  # feed (and selection) the index was built from
    shop: str = ""  # the shop's name (``index build --shop``); "" in indexes from before shops
    index_by: str = ""  # garment | photo (``--index-by``); "" in indexes from before updates
    photo_weight: float = 1.0  # a worn product's photo next to its crop (garment indexes)

    @classmethod
    def read(cls, directory: Path) -> IndexManifest:
        """The manifest of the index folder's current version."""
        return cls.read_file(IndexVersions(directory).current() / MANIFEST)

    @classmethod
    def read_file(cls, path: Path) -> IndexManifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class CatalogIndex:
    """Read-only, thread-safe searches over a built index directory.

    It keeps the version that was current when it opened, even after a newer build replaces it
    (``version_id`` says which; a later build keeps it until the one after).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        versions = IndexVersions(directory)
        self.version_id = versions.current_id()  # None: an index from before versions
        version = versions.current()
        if not (version / MANIFEST).is_file():
            raise LookError(
                ErrorCode.CATALOG_MISSING,
                f"No catalog index at {directory}. Build one with "
                "`shop-the-look index build FEED --out DIR` (see the README for the demo catalog).",
                503,
            )
        self.manifest = IndexManifest.read_file(version / MANIFEST)
        self._indexes = {
            category: Index.restore(str(version / f"{category}.usearch"), view=True)
            for category, count in self.manifest.counts.items()
            if count > 0
        }
        uri = f"file:{(version / DATABASE).as_posix()}?mode=ro&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(products)")}
        has_age_group = "age_group" in columns  # indexes from before kids' products lack it
        has_crop = "crop" in columns  # indexes built by photo, or before crops, lack it
        self._match_columns = (
            "key, id, title, image_link, link, category, gender, price, availability, image_path, "
            f"article_type, color, {'crop' if has_crop else 'NULL'}, "
            f"{'age_group' if has_age_group else 'NULL'}")
        self._audience = Audience.read(self._db, has_age_group)
        # Which article types are which street class: from the catalog's own labels and photos.
        self.class_types = class_types(self._db) if "street_class" in columns else {}
        # The shop's name: the manifest's, else the index folder's (indexes from before shops).
        self.shop = self.manifest.shop or directory.resolve().name

    @property
    def categories(self) -> list[str]:
        return sorted(self._indexes)

    def require_embedder(self, name: str, sha256: str) -> None:
        """Refuse to search with vectors from a model other than the one that built the index."""
        if sha256 != self.manifest.embedder_sha256:
            raise LookError(
                ErrorCode.CATALOG_EMBEDDER_MISMATCH,
                f"The catalog at {self.directory} was built with the embedder "
                f"{self.manifest.embedder} ({self.manifest.embedder_sha256[:12]}…), but this "
                f"companion uses {name} ({sha256[:12]}…). Rebuild the catalog with "
                "`shop-the-look index build`.",
                503,
            )

    def search(
        self, category: str, vector: np.ndarray, k: int, gender: str | None = None,
        age_group: str = "all",
    ) -> list[Match]:
        """The ``k`` nearest products of ``category``; with a gender, that gender or unisex;
        with an age group (adult | kids), only products for it ("all": everyone's)."""
        index = self._indexes.get(category)
        if index is None or k <= 0:
            return []
        if age_group not in AGE_GROUPS:
            raise ValueError(f"age_group must be one of {AGE_GROUPS}")
        filtered = gender in ("female", "male") or age_group != "all"
        fetch = k * OVERFETCH if filtered else k
        while True:
            found = index.search(vector.astype(np.float32), min(fetch, len(index)),
                                 exact=len(index) <= EXACT_SEARCH_MAX)
            matches = self._matches(found.keys, found.distances, gender, age_group, k)
            if len(matches) >= k or fetch >= len(index):
                return matches
            fetch *= OVERFETCH

    def _matches(self, keys: np.ndarray, distances: np.ndarray, gender: str | None,
                 age_group: str = "all", limit: int | None = None) -> list[Match]:
        """The rows of ``keys`` that pass the filters, nearest first, at most ``limit``."""
        admitted = self._audience.admits(keys, gender, age_group)
        keys = np.asarray(keys)[admitted][:limit]
        distances = np.asarray(distances)[admitted][:limit]
        if not len(keys):
            return []
        placeholders = ",".join("?" * len(keys))
        found = self._db.execute(
            f"SELECT {self._match_columns} FROM products WHERE key IN ({placeholders})",
            keys.tolist())
        found.row_factory = None  # plain tuples: this runs for every pooled product of a look
        rows = {row[0]: row[1:] for row in found}
        # The score in float32, as the index keeps distances.
        scores = (np.float32(1.0) - distances.astype(np.float32)).tolist()
        matches = []
        for key, score in zip(keys.tolist(), scores, strict=True):
            (product_id, title, image_link, link, category, product_gender, price, availability,
             image_path, article_type, colour, crop, age) = rows[key]  # admitted: the table's own
            matches.append(Match(
                id=product_id, score=round(score, 4), title=title, image_link=image_link,
                link=link, category=category, gender=product_gender, price=price,
                availability=availability, image_path=image_path,
                article_type=article_type or "", colour=colour or "",
                crop=tuple(json.loads(crop)) if crop else None, shop=self.shop,
                age_group=age or "adult",
            ))
        return matches

    def product(self, product_id: str, shop: str | None = None) -> dict | None:
        """The product's row; None when it is not here (or ``shop`` names another shop)."""
        if shop and shop != self.shop:
            return None
        row = self._db.execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
        return dict(row) if row else None

    def close(self) -> None:
        self._db.close()


def class_types(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """Street class (skirt, jacket, …) → the article types of this catalog that fit it: those
    whose products the embedder saw as that class at least FIT_SHARE of the time (the class of
    each indexed photo or crop is kept when the index is built). Derived from the retailer's own
    article types, whatever words its feed uses."""
    counts: dict[str, dict[str, int]] = {}
    for row in db.execute("SELECT article_type, street_class, COUNT(*) AS n FROM products "
                          "WHERE article_type != '' AND street_class != '' "
                          "GROUP BY article_type, street_class"):
        counts.setdefault(row["article_type"], {})[row["street_class"]] = row["n"]
    table: dict[str, set[str]] = {}
    for article_type, by_class in counts.items():
        total = sum(by_class.values())
        for street_class, n in by_class.items():
            if n >= FIT_SHARE * total:
                table.setdefault(street_class, set()).add(article_type)
    return {street_class: frozenset(types) for street_class, types in sorted(table.items())}
