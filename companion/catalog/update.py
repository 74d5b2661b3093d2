"""``shop-the-look index update FEED --out DIR``: bring an index up to date with a changed feed.

A retailer's feed changes every day: prices move, items sell out, a few arrive or go. Rebuilding
embeds every photo again, which is most of a build's time. An update diffs the feed against the
current version by product id and embeds only what it must:

- a new product is embedded; a product gone from the feed is dropped;
- a product whose image *bytes* changed (sha256, kept per product at build time) is embedded
  again; a new image_link with the same bytes is not;
- any other change (price, availability, title, …) updates the row and keeps the vector;
- by garment (``--index-by garment``), a product that moved category is embedded again, since
  its crop depends on its category.

Unchanged vectors stay where they are: each category's usearch index is the old one with the
gone and changed vectors taken out and the new ones put in (by key: a product keeps its key
across updates). The result is written as a new version and published like a build
(companion/catalog/versions.py): a ``kill -9`` at any moment leaves the previous index whole.
When nothing changed, nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import closing, nullcontext
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from usearch.index import Index

from companion.catalog.build import (
    BATCH,
    IMAGE_CACHE,
    SCHEMA,
    fetch_remote_images,
    read_image,
    read_products,
)
from companion.catalog.download import DownloadPolicy, Fetched
from companion.catalog.feed import FeedOptions, FeedProblem, Product
from companion.catalog.index import DATABASE, MANIFEST, IndexManifest
from companion.catalog.versions import IndexVersions, pause_point
from companion.catalog.views import ProductView, ProductViews, embed_views, street_classes
from companion.errors import ErrorCode, LookError
from companion.inference.embedder import PHOTO_WEIGHT, Embedder
from companion.pipeline.decode import decode_image
from companion.progress import Progress

# The feed's fields a row keeps (all of Product's but its line, which moves when rows do).
COMPARED = tuple(f.name for f in fields(Product) if f.name != "line")
HASH = "image_sha256"


@dataclass
class UpdateReport:
    added: int = 0
    updated: int = 0  # any change to a product that stays, re-embedded or not
    removed: int = 0
    re_embedded: int = 0  # images embedded: the added products' and the changed images'
    unchanged: int = 0
    problems: list[FeedProblem] = field(default_factory=list)  # rows skipped, and why
    stale: list[FeedProblem] = field(default_factory=list)  # kept their previous photo, and why
    seconds: float = 0.0
    version: str | None = None  # the version published; None when there was nothing to do

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (f"added {self.added}, updated {self.updated}, removed {self.removed}, "
                f"re-embedded {self.re_embedded}, unchanged {self.unchanged}")

    def to_json(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "re_embedded": self.re_embedded, "unchanged": self.unchanged,
            "skipped": len(self.problems),
            "problems": [{"line": p.line, "message": p.message} for p in self.problems],
            "stale": [{"line": p.line, "message": p.message} for p in self.stale],
            "version": self.version, "seconds": round(self.seconds, 3),
        }


@dataclass
class _Row:
    """A product of the new version: its SQLite row and where its vector comes from."""

    values: dict  # column → value
    old_category: str | None  # copy the vector from this category's old index; None: embed
    view: ProductView | None = None  # to embed


def update_index(
    feed: Path,
    out: Path,
    embedder: Embedder,
    views: ProductViews | None = None,
    include: Callable[[Product], bool] | None = None,
    limit: int | None = None,
    show_progress: bool = True,
    source_sha256: str = "",
    feed_options: FeedOptions | None = None,
    image_cache: Path | None = None,
    download: DownloadPolicy | None = None,
) -> UpdateReport:
    """Update the index at ``out`` to ``feed``; see the module docstring.

    ``views`` must match how the index was built (``index_by`` in its manifest: garment with
    views, photo without), and ``embedder`` the embedder that built it; otherwise it says to run
    ``index build``. Remote images go through the build's cache (``out/image-cache``): an image
    whose server says it has not changed (ETag, Last-Modified) is not downloaded again.
    """
    started = time.monotonic()
    versions = IndexVersions(out)
    current = versions.current()
    manifest = _updatable(out, current, embedder, views)
    report = UpdateReport()
    products = read_products(feed, feed_options, include, limit, report.problems)
    remote = fetch_remote_images(products, image_cache or out / IMAGE_CACHE, download,
                                 show_progress)
    old = _old_rows(current / DATABASE)
    next_key = max((row["key"] for row in old.values()), default=0) + 1
    rows: list[_Row] = []
    progress = Progress(len(products), "Checking") if show_progress else nullcontext()
    with progress:
        for start in range(0, len(products), BATCH):
            batch = products[start : start + BATCH]
            kept = [row for product in batch
                    if (row := _row(product, old.get(product.id), feed.parent, remote, views,
                                    report)) is not None]
            for row in kept:
                if row.values.get("key") is None:
                    row.values["key"], next_key = next_key, next_key + 1
            _embed([row for row in kept if row.view is not None], embedder)
            rows.extend(kept)
            if show_progress:
                progress.advance(len(batch))
    present = {product.id for product in products}
    report.removed = sum(1 for product_id in old if product_id not in present)
    if report.changed:
        report.version = _publish(versions, current, manifest, rows, feed, source_sha256, embedder)
    report.seconds = time.monotonic() - started
    return report


def _updatable(out: Path, current: Path, embedder: Embedder,
               views: ProductViews | None) -> dict:
    """The current version's manifest, if an update can carry on from it; else why not."""
    try:
        manifest = IndexManifest.read_file(current / MANIFEST)
        data = json.loads((current / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        raise LookError(ErrorCode.CATALOG_MISSING, f"No catalog index at {out} to update. "
                        "Build one with `shop-the-look index build FEED --out DIR`.") from None
    rebuild = f"Run `shop-the-look index build FEED --out {out}` to rebuild it instead."
    if manifest.embedder_sha256 != embedder.manifest.embedding_sha256:
        raise LookError(ErrorCode.CATALOG_EMBEDDER_MISMATCH,
                        f"The index at {out} was built with the embedder {manifest.embedder}, "
                        f"not {embedder.manifest.name}: its vectors cannot be mixed. {rebuild}")
    index_by = "garment" if views is not None else "photo"
    if manifest.index_by != index_by:
        built = (f"was built with --index-by {manifest.index_by}" if manifest.index_by
                 else "was built before updates were possible")
        raise LookError(ErrorCode.INDEX_NOT_UPDATABLE,
                        f"The index at {out} {built}; this update indexes by {index_by}. "
                        f"{rebuild}")
    if index_by == "garment" and manifest.photo_weight != PHOTO_WEIGHT:
        raise LookError(ErrorCode.INDEX_NOT_UPDATABLE,
                        f"The index at {out} weighs a worn product's photo "
                        f"{manifest.photo_weight:g} next to its garment, this version "
                        f"{PHOTO_WEIGHT:g}: its vectors cannot be mixed. {rebuild}")
    with closing(sqlite3.connect(f"file:{(current / DATABASE).as_posix()}?mode=ro",
                                 uri=True)) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(products)")}
    if HASH not in columns:
        raise LookError(ErrorCode.INDEX_NOT_UPDATABLE,
                        f"The index at {out} keeps no image hashes, so an update cannot tell "
                        f"which photos changed. {rebuild}")
    return data


def _old_rows(database: Path) -> dict[str, dict]:
    with closing(sqlite3.connect(f"file:{database.as_posix()}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in db.execute("SELECT * FROM products")}


def _row(product: Product, old: dict | None, base: Path, remote: dict[str, Fetched],
         views: ProductViews | None, report: UpdateReport) -> _Row | None:
    """What the new version keeps of ``product`` (None: skipped), counted in ``report``."""
    values = {**(old or {}), **asdict(product)}
    try:
        data, values["image_path"] = read_image(base, product, remote)
        digest = hashlib.sha256(data).hexdigest()
        moved = old is not None and old["category"] != product.category
        if old is not None and digest == old[HASH] and not (moved and views is not None):
            return _kept(values, old, report)
        image = decode_image(data)
    except (OSError, LookError) as exc:
        if isinstance(exc, LookError) and product.image_link in remote:
            remote[product.image_link].discard()  # fetch it afresh next time
        problem = FeedProblem(product.line, f"image of {product.id} unreadable: "
                              f"{exc.message if isinstance(exc, LookError) else exc}")
        if old is None:
            report.problems.append(problem)
            return None
        # A photo that cannot be fetched today (a CDN hiccup) must not empty the catalog.
        report.stale.append(problem)
        return _kept({**values, "image_path": old["image_path"]}, old, report)
    view = (views.view(image.pixels, product.category) if views is not None
            else ProductView(image.pixels, None, False))
    values.update(
        crop=None if view.crop is None else json.dumps([round(v * image.scale, 1)
                                                         for v in view.crop]),
        worn=int(view.worn), **{HASH: digest},
    )
    report.re_embedded += 1
    if old is None:
        report.added += 1
    else:
        report.updated += 1
    return _Row(values, None, view)


def _kept(values: dict, old: dict, report: UpdateReport) -> _Row:
    """A product that keeps its vector: updated when any field changed, else unchanged."""
    if any(old.get(name) != values[name] for name in COMPARED):
        report.updated += 1
    else:
        report.unchanged += 1
    return _Row(values, old["category"])


def _embed(rows: list[_Row], embedder: Embedder) -> None:
    if not rows:
        return
    embedded = embed_views(embedder, [r.view for r in rows])
    classes = street_classes(embedded)
    for row, vector, street_class in zip(rows, embedded.vectors, classes, strict=True):
        row.view = None
        row.values["vector"] = vector
        row.values["street_class"] = street_class


def _publish(versions: IndexVersions, current: Path, manifest: dict, rows: list[_Row],
             feed: Path, source_sha256: str, embedder: Embedder) -> str:
    """Write the new version beside the current one and make it current; its id."""
    staging = versions.stage()
    try:
        _write_database(staging / DATABASE, rows)
        pause_point("updating")
        counts = _write_indexes(current, staging, rows, embedder.ndim)
        manifest = {**manifest, "counts": counts, "feed": feed.name,
                    "source_sha256": source_sha256,
                    "updated_at": datetime.now(UTC).isoformat(timespec="seconds")}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return versions.publish(staging).name
    except BaseException:
        versions.discard(staging)
        raise


def _write_indexes(current: Path, staging: Path, rows: list[_Row], ndim: int) -> dict[str, int]:
    """One usearch index per category: the old one with the gone and changed vectors taken out
    and the new ones put in, or a new one for a new category; the count of each.

    The old graph is kept rather than rebuilt: adding every vector again costs far more than
    the few embeddings of a daily update (about 2 ms a vector on 2 cores).
    """
    members: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        members[row.values["category"]].append(row)
    _copy_moved_vectors(current, rows)
    counts = {}
    for category, kept in sorted(members.items()):
        old = current / f"{category}.usearch"
        staying = {row.values["key"] for row in kept if row.old_category == category}
        if old.is_file():
            index = Index.restore(str(old))  # a copy in memory; the old version stays as it is
            leaving = [key for key in np.asarray(index.keys).tolist() if key not in staying]
            if leaving:
                index.remove(np.array(leaving, dtype=np.uint64), compact=True)
        else:
            index = Index(ndim=ndim, metric="cos", dtype="f32")
        arriving = [row for row in kept if row.old_category != category]
        if arriving:
            index.add(np.array([row.values["key"] for row in arriving], dtype=np.uint64),
                      np.stack([row.values["vector"] for row in arriving]).astype(np.float32))
        index.save(str(staging / f"{category}.usearch"))
        counts[category] = len(index)
    return counts


def _copy_moved_vectors(current: Path, rows: list[_Row]) -> None:
    """The old vectors of products that moved to another category (by photo: a new
    product_type with the same photo), read by key from their old category's index."""
    moved: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.old_category is not None and row.old_category != row.values["category"]:
            moved[row.old_category].append(row)
    for category, leaving in moved.items():
        old = Index.restore(str(current / f"{category}.usearch"), view=True)
        keys = np.array([row.values["key"] for row in leaving], dtype=np.uint64)
        for row, vector in zip(leaving, old.get(keys), strict=True):
            row.values["vector"] = vector


def _write_database(path: Path, rows: list[_Row]) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)
        columns = [row[1] for row in db.execute("PRAGMA table_info(products)")]
        insert = (f"INSERT INTO products ({', '.join(columns)}) "
                  f"VALUES ({', '.join('?' * len(columns))})")
        db.executemany(insert, ([row.values.get(c) for c in columns] for row in rows))
        db.commit()
