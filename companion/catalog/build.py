"""``shop-the-look index build``: feed → embeddings → one usearch index per category + SQLite.

The build writes a new version beside the current one and publishes it in one atomic step when
everything is written (``companion/catalog/versions.py``), so a killed or failed build never
leaves a half-written index, or none, at ``--out``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from usearch.index import Index

from companion.catalog.download import (
    DownloadPolicy,
    Downloads,
    Fetched,
    ImageCache,
    download_images,
    download_summary,
)
from companion.catalog.feed import FeedOptions, FeedProblem, Product, read_feed
from companion.catalog.index import DATABASE, FORMAT_VERSION, MANIFEST, IndexManifest
from companion.catalog.versions import IndexVersions
from companion.catalog.views import ProductView, ProductViews, embed_views, street_classes
from companion.errors import LookError
from companion.inference.embedder import PHOTO_WEIGHT, Embedder
from companion.pipeline.decode import decode_image
from companion.progress import Progress
from companion.types import DecodedImage

BATCH = 64
# Downloaded product photos live under the index folder, beside versions/ (docs/catalog.md):
# deleting an index deletes its downloads, and an update of the same folder finds them.
IMAGE_CACHE = "image-cache"

SCHEMA = """
CREATE TABLE products (
    key INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title TEXT, link TEXT, image_link TEXT,
    image_path TEXT, category TEXT, gender TEXT, price TEXT, availability TEXT, brand TEXT,
    color TEXT, product_type TEXT, article_type TEXT, line INTEGER,
    crop TEXT, worn INTEGER, age_group TEXT, gtin TEXT, mpn TEXT, image_sha256 TEXT,
    street_class TEXT
);
CREATE INDEX products_category ON products(category);
"""


@dataclass
class BuildReport:
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[FeedProblem] = field(default_factory=list)
    seconds: float = 0.0
    downloads: str = ""  # what became of remote images ("" when the feed has none)

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
    feed_options: FeedOptions | None = None,
    image_cache: Path | None = None,
    download: DownloadPolicy | None = None,
    shop: str = "",
) -> BuildReport:
    """Build the index for ``feed`` into ``out`` (replacing it atomically).

    ``views``: index a photo that shows a person by its garment's crop (companion.catalog.views);
    None indexes every photo whole. Remote images all start downloading first (``download``,
    into ``image_cache``, by default ``out/image-cache``); each batch is embedded as soon as its
    photos are in. ``shop`` names the shop
    in the manifest (default: the feed's folder name); each image's sha256 is kept, for
    ``index update`` (companion/catalog/update.py).
    """
    started = time.monotonic()
    report = BuildReport()
    products = read_products(feed, feed_options, include, limit, report.problems)
    versions = IndexVersions(out)
    staging = versions.stage()  # also removes what killed builds left
    remote: Downloads | None = None
    try:
        remote = start_downloads(products, image_cache or out / IMAGE_CACHE, download)
        vectors: dict[str, list[np.ndarray]] = defaultdict(list)
        keys: dict[str, list[int]] = defaultdict(list)
        progress = (Progress(len(products), "Indexing", detail=remote.status) if show_progress
                    else nullcontext())
        with closing(sqlite3.connect(staging / DATABASE)) as db, progress:
            db.executescript(SCHEMA)
            for start in range(0, len(products), BATCH):
                _add_batch(products[start : start + BATCH], feed.parent, remote, embedder, views,
                           db, vectors, keys, report)
                if show_progress:
                    progress.advance(min(BATCH, len(products) - start))
            db.commit()
        report.downloads = download_summary(remote.wait())
        for category, rows in vectors.items():
            index = Index(ndim=embedder.ndim, metric="cos", dtype="f32")
            index.add(np.array(keys[category], dtype=np.uint64), np.stack(rows))
            index.save(str(staging / f"{category}.usearch"))
            report.counts[category] = len(rows)
        manifest = embedder.manifest
        (staging / MANIFEST).write_text(json.dumps({
            "format_version": FORMAT_VERSION,
            "embedder": manifest.name,
            "embedder_sha256": manifest.embedding_sha256,
            "ndim": embedder.ndim,
            "metric": "cos",
            "dtype": "f32",
            "counts": dict(sorted(report.counts.items())),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "feed": feed.name,
            "source_sha256": source_sha256,
            "shop": shop or feed.resolve().parent.name,
            "index_by": "photo" if views is None else "garment",
            **({"photo_weight": PHOTO_WEIGHT} if views is not None else {}),
        }, indent=2) + "\n")
        versions.publish(staging)
    except BaseException:
        if remote is not None:
            remote.close()
        versions.discard(staging)
        raise
    report.seconds = time.monotonic() - started
    return report


def read_products(feed: Path, options: FeedOptions | None,
                  include: Callable[[Product], bool] | None, limit: int | None,
                  problems: list[FeedProblem]) -> list[Product]:
    """The feed's products that ``include`` keeps (the first ``limit``: the rest of the feed is
    not read); bad rows read go to ``problems``."""
    products: list[Product] = []
    with closing(read_feed(feed, options)) as entries:  # closes the file when stopped early
        for entry in entries:
            if isinstance(entry, FeedProblem):
                problems.append(entry)
            elif include is None or include(entry):
                products.append(entry)
                if len(products) == limit:
                    break
    return products


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
    return (manifest.format_version == FORMAT_VERSION
            and manifest.embedder_sha256 == embedder.manifest.embedding_sha256
            and manifest.source_sha256 == source_sha256)


def start_downloads(products: list[Product], cache: Path,
                    policy: DownloadPolicy | None = None) -> Downloads:
    """Start downloading every http(s) image ``products`` need, all at once, in the background
    (``Downloads.get`` waits for one). Build time only: the runtime never downloads."""
    return Downloads((p.image_link for p in products if is_remote(p.image_link)),
                     ImageCache(cache), policy)


def fetch_remote_images(products: list[Product], cache: Path,
                        policy: DownloadPolicy | None = None,
                        show_progress: bool = True) -> dict[str, Fetched]:
    """Download every http(s) image ``products`` need, concurrently, before any embedding.

    Only ``index build`` and ``index update`` call this: the runtime never downloads.
    """
    urls = list(dict.fromkeys(p.image_link for p in products if is_remote(p.image_link)))
    if not urls:
        return {}
    if not show_progress:
        return download_images(urls, ImageCache(cache), policy)
    with Progress(len(urls), "Downloading") as progress:
        return download_images(urls, ImageCache(cache), policy, progress)


def read_image(base: Path, product: Product,
               remote: Mapping[str, Fetched] | Downloads) -> tuple[bytes, str]:
    """(bytes, local path) of a product's image: a file beside the feed, or its downloaded copy
    (``remote``: from ``fetch_remote_images`` or ``start_downloads``). OSError says why there is
    none."""
    if is_remote(product.image_link):
        fetched = remote.get(product.image_link)
        if fetched is None or fetched.path is None:
            raise OSError(fetched.problem if fetched else "not downloaded")
        return fetched.path.read_bytes(), str(fetched.path)
    path = (base / product.image_link).resolve()
    return path.read_bytes(), str(path)


def is_remote(link: str) -> bool:
    return link.startswith(("http://", "https://"))


def _add_batch(batch: list[Product], base: Path, remote: Downloads, embedder: Embedder,
               views: ProductViews | None, db: sqlite3.Connection,
               vectors: dict[str, list[np.ndarray]], keys: dict[str, list[int]],
               report: BuildReport) -> None:
    """Embed one batch of products and record them; unreadable photos become problems."""
    good: list[tuple[Product, ProductView, float, tuple[str, str]]] = []
    for product in batch:
        image, source, problem = _load_image(base, product, remote)
        if problem is not None:
            report.problems.append(FeedProblem(product.line, problem))
            continue
        view = (views.view(image.pixels, product.category) if views is not None
                else ProductView(image.pixels, None, False))
        good.append((product, view, image.scale, source))
    embedded = embed_views(embedder, [view for _, view, _, _ in good])
    classes = street_classes(embedded)
    for (product, view, scale, (local_path, sha256)), vector, street_class in zip(
            good, embedded.vectors, classes, strict=True):
        key = product.line  # stable and unique within one feed
        crop = None if view.crop is None else json.dumps([round(v * scale, 1) for v in view.crop])
        db.execute(
            "INSERT INTO products VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (key, product.id, product.title, product.link, product.image_link, local_path,
             product.category, product.gender, product.price, product.availability,
             product.brand, product.color, product.product_type, product.article_type,
             product.line, crop, int(view.worn), product.age_group, product.gtin, product.mpn,
             sha256, street_class),
        )
        vectors[product.category].append(vector)
        keys[product.category].append(key)


def _load_image(base: Path, product: Product, remote: Downloads
                ) -> tuple[DecodedImage | None, tuple[str, str], str | None]:
    """(image, (local path, sha256 of its bytes), problem or None) for a product's image_link."""
    try:
        data, local = read_image(base, product, remote)
        image = decode_image(data)
    except LookError as exc:
        fetched = remote.get(product.image_link)
        if fetched is not None:
            fetched.discard()  # fetch it afresh next time
        return None, ("", ""), f"image of {product.id} unreadable: {exc.message}"
    except OSError as exc:
        return None, ("", ""), f"image of {product.id} unreadable: {exc}"
    return image, (local, hashlib.sha256(data).hexdigest()), None
