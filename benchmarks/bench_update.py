"""Speed of ``index update`` for 1 % changed products of the whole catalog, against a full build.

    python -m benchmarks.bench_update                       # --index-by photo, 1 % changed
    python -m benchmarks.bench_update --index-by garment    # the default build mode (slower)

A day in a retailer's life, on the 9,267-product catalog: the index is built from all products
but a few held out; then 1 % of the products change: a third get a new price, a third a new
photo (the same file, new bytes), a sixth are new (the held-out ones) and a sixth are gone. The
update is timed against a full build of the changed feed, and a second update (nothing to do)
too. Models are loaded before any clock starts; the photos are copied to a temporary folder so
that they can change in place.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from companion.catalog.build import build_index
from companion.catalog.update import update_index
from companion.catalog.views import ProductViews
from companion.inference.embedder import Embedder
from companion.inference.store import ModelStore
from training.data import data_root
from training.data.catalog import read_feed


def write_feed(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    lines = ["\t".join(header), *("\t".join(row[c] for c in header) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def day_of_changes(rows: list[dict[str, str]], share: float
                   ) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, str]]:
    """(rows built on, rows a day later, {id: id of the photo it shows now})."""
    changed = max(6, round(len(rows) * share))
    new, gone = changed // 6, changed // 6
    prices = photos = (changed - new - gone) // 2
    step = len(rows) // changed  # spread over the feed, every category touched
    picked = rows[::step][:changed]
    held_out = {r["id"] for r in picked[:new]}
    gone_ids = {r["id"] for r in picked[new : new + gone]}
    priced = {r["id"] for r in picked[new + gone : new + gone + prices]}
    rephotographed = picked[new + gone + prices : new + gone + prices + photos]
    donors = rows[1::step][: len(rephotographed)]  # other products' photos
    before = [r for r in rows if r["id"] not in held_out]
    after = [{**r, "price": "1.00 EUR"} if r["id"] in priced else r
             for r in rows if r["id"] not in gone_ids]
    return before, after, {r["id"]: d["id"] for r, d in zip(rephotographed, donors, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=data_root(),
                        help="folder holding catalog/ (default: %(default)s)")
    parser.add_argument("--changed", type=float, default=0.01,
                        help="share of products that change (default: 0.01)")
    parser.add_argument("--index-by", choices=["garment", "photo"], default="photo",
                        help="how the index is built (default: photo, the faster build; garment "
                        "embeds more per photo, so an update saves even more)")
    args = parser.parse_args()
    catalog = args.data / "catalog"
    rows = read_feed(catalog).rows
    header = (catalog / "feed.tsv").read_text(encoding="utf-8").split("\n", 1)[0].split("\t")
    before, after, photos = day_of_changes(rows, args.changed)
    store = ModelStore()
    embedder = Embedder(store)
    views = ProductViews(store) if args.index_by == "garment" else None
    with tempfile.TemporaryDirectory() as tmp:
        shop = Path(tmp) / "shop"
        shutil.copytree(catalog / "images", shop / "images")
        feed = write_feed(shop / "feed.tsv", header, before)
        out = Path(tmp) / "index"
        build_index(feed, out, embedder, show_progress=False, views=views)
        for product_id, donor in photos.items():  # the same file, another photo's bytes
            shutil.copyfile(catalog / "images" / f"{donor}.jpg",
                            shop / "images" / f"{product_id}.jpg")
        write_feed(feed, header, after)
        update = update_index(feed, out, embedder, views=views, show_progress=False)
        started = time.monotonic()
        again = update_index(feed, out, embedder, views=views, show_progress=False)
        nothing_s = time.monotonic() - started
        build = build_index(feed, Path(tmp) / "rebuilt", embedder, show_progress=False,
                            views=views)
    result = {
        "products": len(after), "index_by": args.index_by, "changed_share": args.changed,
        "update": update.to_json() | {"problems": len(update.problems)},
        "update_s": round(update.seconds, 2),
        "nothing_to_do_s": round(nothing_s, 2), "nothing_to_do": again.summary(),
        "full_build_s": round(build.seconds, 2),
        "speedup": round(build.seconds / update.seconds, 1),
    }
    print(f"{len(after)} products, --index-by {args.index_by}, {args.changed:.0%} changed: "
          f"{update.summary()}")
    print(f"update {update.seconds:.2f} s, a second update (nothing to do) {nothing_s:.2f} s, "
          f"full build {build.seconds:.1f} s: the update is {result['speedup']}x faster")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
