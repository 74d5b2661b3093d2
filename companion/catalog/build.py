"""``shop-the-look index build``: feed → embeddings → one usearch index per category + SQLite.

The build writes a new version beside the current one and publishes it in one atomic step when
everything is written (``companion/catalog/versions.py``), so a killed or failed build never
leaves a half-written index, or none, at ``--out``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image
from usearch.index import Index

from companion.catalog.feed import FeedProblem, Product, read_feed
from companion.catalog.index import DATABASE, FORMAT_VERSION, MANIFEST, IndexManifest
from companion.catalog.versions import IndexVersions
from companion.catalog.views import ProductView, ProductViews
from companion.errors import LookError
from companion.inference.embedder import Embedder
from companion.pipeline.decode import decode_image
from companion.progress import Progress
from companion.types import DecodedImage

BATCH = 64
DOWNLOAD_TIMEOUT_S = 20
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

SCHEMA = """
CREATE TABLE products (
    key INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title TEXT, link TEXT, image_link TEXT,
    image_path TEXT, category TEXT, gender TEXT, price TEXT, availability TEXT, brand TEXT,
    color TEXT, product_type TEXT, article_type TEXT, line INTEGER,
    crop TEXT, worn INTEGER, age_group TEXT, gtin TEXT, mpn TEXT
);
CREATE INDEX products_category ON products(category);
"""


@dataclass
class BuildReport:
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[FeedProblem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def indexed(self) -> int:
        return sum(self.counts.values())


def build_index(
    feed: Path,
    out: Path,
    embedder: Embedder,
    limit: int | None = None,
    include: Callable[[Product], bool] | None = None,
    show_progress: bool = True,
    source_sha256: str = "",
    views: ProductViews | None = None,
) -> BuildReport:
    """Build the index for ``feed`` into ``out`` (replacing it atomically).

    ``views``: index a photo that shows a person by its garment's crop (companion.catalog.views);
    None indexes every photo whole.
    """
    started = time.monotonic()
    report = BuildReport()
    products: list[Product] = []
    for entry in read_feed(feed):
        if isinstance(entry, FeedProblem):
            report.problems.append(entry)
        elif include is None or include(entry):
            products.append(entry)
    if limit is not None:
        products = products[:limit]
    versions = IndexVersions(out)
    staging = versions.stage()  # also removes what killed builds left
    try:
        vectors: dict[str, list[np.ndarray]] = defaultdict(list)
        keys: dict[str, list[int]] = defaultdict(list)
        progress = Progress(len(products), "Indexing") if show_progress else nullcontext()
        with closing(sqlite3.connect(staging / DATABASE)) as db, progress:
            db.executescript(SCHEMA)
            for start in range(0, len(products), BATCH):
                _add_batch(products[start : start + BATCH], feed.parent, embedder, views, db,
                           vectors, keys, report)
                if show_progress:
                    progress.advance(min(BATCH, len(products) - start))
            db.commit()
        for category, rows in vectors.items():
            index = Index(ndim=embedder.ndim, metric="cos", dtype="f32")
            index.add(np.array(keys[category], dtype=np.uint64), np.stack(rows))
            index.save(str(staging / f"{category}.usearch"))
            report.counts[category] = len(rows)
        manifest = embedder.manifest
        (staging / MANIFEST).write_text(json.dumps({
            "format_version": FORMAT_VERSION,
            "embedder": manifest.name,
            "embedder_sha256": manifest.sha256,
            "ndim": embedder.ndim,
            "metric": "cos",
            "dtype": "f32",
            "counts": dict(sorted(report.counts.items())),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "feed": feed.name,
            "source_sha256": source_sha256,
        }, indent=2) + "\n")
        versions.publish(staging)
    except BaseException:
        versions.discard(staging)
        raise
    report.seconds = time.monotonic() - started
    return report


def source_fingerprint(*files: Path) -> str:
    """One sha256 over the feed and any selection file: what an index was built from."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_up_to_date(out: Path, embedder: Embedder, source_sha256: str) -> bool:
    """True when ``out`` holds an index of the same source made with the same embedder."""
    try:
        manifest = IndexManifest.read(out)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (manifest.embedder_sha256 == embedder.manifest.sha256
            and manifest.source_sha256 == source_sha256)


def _add_batch(batch: list[Product], base: Path, embedder: Embedder,
               views: ProductViews | None, db: sqlite3.Connection,
               vectors: dict[str, list[np.ndarray]], keys: dict[str, list[int]],
               report: BuildReport) -> None:
    """Embed one batch of products and record them; unreadable photos become problems."""
    good: list[tuple[Product, ProductView, float, str]] = []
    for product in batch:
        image, local_path, problem = _load_image(base, product)
        if problem is not None:
            report.problems.append(FeedProblem(product.line, problem))
            continue
        view = (views.view(image.pixels, product.category) if views is not None
                else ProductView(image.pixels, None, False))
        good.append((product, view, image.scale, local_path))
    embedded = embedder.predict([view.pixels for _, view, _, _ in good])
    for (product, view, scale, local_path), vector in zip(good, embedded, strict=True):
        key = product.line  # stable and unique within one feed
        crop = None if view.crop is None else json.dumps([round(v * scale, 1) for v in view.crop])
        db.execute(
            "INSERT INTO products VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (key, product.id, product.title, product.link, product.image_link, local_path,
             product.category, product.gender, product.price, product.availability,
             product.brand, product.color, product.product_type, product.article_type,
             product.line, crop, int(view.worn), product.age_group, product.gtin, product.mpn),
        )
        vectors[product.category].append(vector)
        keys[product.category].append(key)


def _load_image(base: Path, product: Product) -> tuple[DecodedImage | None, str, str | None]:
    """(image, local path or "", problem or None) for a product's image_link."""
    link = product.image_link
    try:
        if link.startswith(("http://", "https://")):
            data = _download(link)
            local = ""
        else:
            path = (base / link).resolve()
            data = path.read_bytes()
            local = str(path)
        image = decode_image(data)
    except LookError as exc:
        return None, "", f"image of {product.id} unreadable: {exc.message}"
    except OSError as exc:
        return None, "", f"image of {product.id} unreadable: {exc}"
    return image, local, None


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "shop-the-look-indexer"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
        data = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise OSError("larger than 20 MB")
    Image.open(io.BytesIO(data))  # fail early on HTML error pages
    return data

