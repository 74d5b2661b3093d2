"""Several shops' catalogs searched as one: ``serve --index A --index B`` or a catalogs folder.

A look asks each shop's index for a garment's nearest products and merges them by score: the
shopper wants the most similar product, whichever shop sells it, and each match says its shop
(``Match.shop``, the index manifest's name) so the panel can label it. Scores are comparable
because every index must come from the same embedder (``require_embedder`` checks each).
Grouping per shop instead would show one row per shop for every garment, pushing a shop's close
match below another shop's distant ones on a small screen, and the row count would grow with
the number of shops.

``Catalogs`` has the interface the look pipeline uses of a ``CatalogIndex`` (``search``,
``categories``, ``require_embedder``, ``product``, ``manifest``), so the pipeline needs no change.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from companion.catalog.index import CatalogIndex, IndexManifest
from companion.catalog.versions import MANIFEST, POINTER, IndexVersions
from companion.errors import ErrorCode, LookError
from companion.types import Match


def is_index_folder(folder: Path) -> bool:
    """An index folder (versioned, or flat from before versions), not a folder of them."""
    return (folder / POINTER).is_file() or (folder / MANIFEST).is_file()


def index_folders(paths: Iterable[Path]) -> list[Path]:
    """The index folders ``--index`` names: each one itself, or a catalogs folder's index
    subfolders (sorted). A path that is neither stays, so opening it says what is missing."""
    folders: list[Path] = []
    for path in paths:
        inside = [] if is_index_folder(path) or not path.is_dir() else sorted(
            child for child in path.iterdir() if child.is_dir() and is_index_folder(child))
        folders.extend(inside or [path])
    return folders


def current_versions(folders: Iterable[Path]) -> tuple[tuple[str, str | None], ...]:
    """(folder, current version) per index folder: one small read each, cheap before a look."""
    return tuple((str(folder), IndexVersions(folder).current_id())
                 for folder in index_folders(folders))


class Catalogs:
    """One or more ``CatalogIndex`` searched together, each match labelled with its shop."""

    def __init__(self, indexes: list[CatalogIndex]) -> None:
        if not indexes:
            raise ValueError("Catalogs needs at least one index")
        shops: dict[str, Path] = {}
        for index in indexes:
            if index.shop in shops:
                raise LookError(
                    ErrorCode.BAD_ARGUMENT,
                    f"Two catalogs are both called {index.shop!r} ({shops[index.shop]} and "
                    f"{index.directory}). Rebuild one with `shop-the-look index build --shop "
                    "NAME` so that each match can say which shop it comes from.")
            shops[index.shop] = index.directory
        self.indexes = indexes

    @classmethod
    def open(cls, paths: Iterable[Path]) -> Catalogs:
        """The catalogs at ``paths`` (index folders or catalogs folders), opened now."""
        opened: list[CatalogIndex] = []
        try:
            for folder in index_folders(paths):
                opened.append(CatalogIndex(folder))
            return cls(opened)
        except BaseException:
            for index in opened:
                index.close()
            raise

    @property
    def manifest(self) -> IndexManifest:
        """The first index's manifest (all share the embedder, which is what callers read)."""
        return self.indexes[0].manifest

    @property
    def shops(self) -> list[str]:
        return [index.shop for index in self.indexes]

    @property
    def categories(self) -> list[str]:
        return sorted({c for index in self.indexes for c in index.categories})

    @property
    def class_types(self) -> dict[str, frozenset[str]]:
        """Each shop's table merged: an article type fits a class if it does in any shop."""
        merged: dict[str, frozenset[str]] = {}
        for index in self.indexes:
            for street_class, types in index.class_types.items():
                merged[street_class] = merged.get(street_class, frozenset()) | types
        return merged

    def versions(self) -> tuple[tuple[str, str | None], ...]:
        """(folder, version) of each index as opened, comparable with ``current_versions``."""
        return tuple((str(index.directory), index.version_id) for index in self.indexes)

    def require_embedder(self, name: str, sha256: str) -> None:
        for index in self.indexes:
            index.require_embedder(name, sha256)

    def search(self, category: str, vector: np.ndarray, k: int, gender: str | None = None,
               age_group: str = "all") -> list[Match]:
        """The ``k`` nearest products of ``category`` over every shop, most similar first."""
        found = [m for index in self.indexes
                 for m in index.search(category, vector, k, gender, age_group)]
        if len(self.indexes) == 1:
            return found
        return sorted(found, key=lambda m: -m.score)[:k]

    def product(self, product_id: str, shop: str | None = None) -> dict | None:
        """The product's row from ``shop``'s index (or the first shop that has the id)."""
        for index in self.indexes:
            row = index.product(product_id, shop)
            if row is not None:
                return row
        return None

    def close(self) -> None:
        for index in self.indexes:
            index.close()
