"""``shop-the-look index build|update FEED --out DIR``: embed a product feed into a catalog index,
or bring one up to date with a changed feed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from companion.inference.store import ModelStore


def register(commands) -> None:
    index = commands.add_parser("index", help="build catalog indexes from product feeds")
    actions = index.add_subparsers(title="actions", metavar="ACTION")
    build = actions.add_parser(
        "build", help="embed every product of a feed and write a searchable index",
        description="Read a product feed (Google Merchant Center TSV or XML, a Shopify "
        "products.json, a CSV or JSON Lines export: told apart by content; see docs/catalog.md), "
        "embed each product photo and write one index per category. image_link may be a path "
        "relative to the feed or an http(s) URL: remote photos are downloaded first, into "
        "DIR/image-cache, and a later build asks only for what changed. Bad rows are reported "
        "with their line number and skipped; the old index stays until the new one is complete.",
    )
    add_source_arguments(build, "index folder to write (replaced when the build succeeds)")
    build.add_argument("--limit", type=int, metavar="N", help="index only the first N products")
    build.add_argument("--if-stale", action="store_true",
                       help="do nothing when DIR already holds an index of this feed made with "
                       "this embedder (and, indexed by garment, the same person and garment "
                       "finders with the same settings)")
    build.add_argument("--embedder", default=None,
                       help="embedding model (default: the shipped one)")
    build.add_argument("--index-by", choices=["garment", "photo"], default="garment",
                       help="garment (default): a photo of a model wearing the product is indexed "
                       "by the crop of the product's own garment, as a look's query is; a "
                       "packshot stays whole. photo: every photo whole (faster, and what indexes "
                       "built before this option did)")
    build.add_argument("--shop", metavar="NAME", default=None,
                       help="the shop's name, shown with its products when several catalogs are "
                       "searched (default: the feed's folder name)")
    add_feed_options(build)
    build.set_defaults(handler=run_build)
    update = actions.add_parser(
        "update", help="bring an index up to date with a changed feed, embedding only new and "
        "changed photos",
        description="Compare the feed with the index at --out by product id: add new products, "
        "remove the gone ones, embed again only products whose image changed (by its bytes), "
        "and update prices, availability, titles, … without embedding. The new index is "
        "swapped in atomically (a running companion picks it up before its next look); "
        "nothing is written when nothing changed.",
    )
    add_source_arguments(update, "the index folder to update (made by `index build`)")
    update.add_argument("--embedder", default=None,
                        help="embedding model (default: the shipped one); must be the one that "
                        "built the index")
    update.add_argument("--json", action="store_true",
                        help="print what was done as one JSON object")
    add_feed_options(update)
    update.set_defaults(handler=run_update)
    index.set_defaults(handler=lambda _args: index.print_help() or 2)


def add_source_arguments(parser, out_help: str) -> None:
    """The feed, the index folder and the selection (``index build`` and ``index update``)."""
    parser.add_argument("feed", type=Path, metavar="FEED", help="the feed file")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help=out_help)
    parser.add_argument("--split", type=Path, metavar="SPLIT_TSV",
                        help="a split.tsv (id, split): index only rows whose split is 'index'")


def add_feed_options(parser) -> None:
    """How to read the feed and fetch its photos (``index build`` and ``index update``)."""
    from companion.catalog.feed import FIELDS, FORMATS

    parser.add_argument("--format", choices=("auto", *FORMATS), default="auto",
                        help="the feed's format (default: found from its content)")
    parser.add_argument("--columns", default="", metavar="FIELD=COLUMN,…",
                        help="where a CSV/TSV/JSONL feed keeps each field when its names differ "
                        "from Google's, e.g. title=name,image_link=img (JSON: dotted paths, "
                        f"image_link=images.0.src). Fields: {', '.join(FIELDS)}")
    parser.add_argument("--currency", default="", metavar="CODE",
                        help="currency of prices given as bare numbers (Shopify, many CSVs), "
                        "e.g. EUR")
    parser.add_argument("--shop-url", default="", metavar="URL",
                        help="the shop's address, for a Shopify feed's product links")
    parser.add_argument("--image-cache", type=Path, metavar="DIR",
                        help="where downloaded photos are kept (default: DIR/image-cache of the "
                        "index)")


def feed_options(args):
    """The FeedOptions the command line asks for."""
    from companion.catalog.feed import FeedOptions, parse_columns

    return FeedOptions(format=args.format, columns=parse_columns(args.columns),
                       currency=args.currency, shop_url=args.shop_url)


def run_build(args) -> int:
    """Build the index and report skipped rows; 1 when no product could be indexed."""
    from companion.catalog.build import build_index, is_up_to_date
    from companion.catalog.views import ProductViews
    from companion.inference.embedder import DEFAULT_EMBEDDER, Embedder
    from companion.inference.store import ModelStore

    include = _split_filter(args.split)
    store = ModelStore()
    embedder = Embedder(store, args.embedder or DEFAULT_EMBEDDER)
    options = feed_options(args)
    fingerprint = _fingerprint(args, args.index_by, options, store)
    if args.if_stale and is_up_to_date(args.out, embedder, fingerprint):
        print(f"{args.out} is up to date (same feed, same embedder).")
        return 0
    report = build_index(args.feed, args.out, embedder, limit=args.limit, include=include,
                         source_sha256=fingerprint,
                         views=ProductViews(store) if args.index_by == "garment" else None,
                         feed_options=options, image_cache=args.image_cache, shop=args.shop)
    for problem in report.problems:
        print(f"{where(args.feed, problem)}: skipped: {problem.message}", file=sys.stderr)
    if report.downloads:
        print(f"Remote {report.downloads}.", file=sys.stderr)
    counts = ", ".join(f"{c} {n}" for c, n in sorted(report.counts.items()))
    print(f"Indexed {report.indexed} products into {args.out} in {report.seconds:.1f} s "
          f"({report.indexed / max(report.seconds, 1e-6):.1f} images/s): {counts}. "
          f"Skipped {len(report.problems)} row(s).")
    return 0 if report.indexed else 1


def run_update(args) -> int:
    """Update the index; print what changed (``--json``: as JSON). 1 when it cannot be updated
    (the error says to run ``index build``)."""
    import json

    from companion.catalog.index import IndexManifest
    from companion.catalog.update import update_index
    from companion.catalog.views import ProductViews
    from companion.inference.embedder import DEFAULT_EMBEDDER, Embedder
    from companion.inference.store import ModelStore

    store = ModelStore()
    embedder = Embedder(store, args.embedder or DEFAULT_EMBEDDER)
    try:
        index_by = IndexManifest.read(args.out).index_by
    except (OSError, ValueError, KeyError, TypeError):
        index_by = ""  # update_index says what is wrong
    options = feed_options(args)
    report = update_index(
        args.feed, args.out, embedder, views=ProductViews(store) if index_by == "garment" else None,
        include=_split_filter(args.split), show_progress=not args.json,
        source_sha256=_fingerprint(args, index_by, options, store), feed_options=options,
        image_cache=args.image_cache,
    )
    for problem in report.problems:
        print(f"{where(args.feed, problem)}: skipped: {problem.message}", file=sys.stderr)
    for problem in report.stale:
        print(f"{where(args.feed, problem)}: kept the previous photo: {problem.message}",
              file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json()))
    elif report.changed:
        print(f"Updated {args.out} in {report.seconds:.1f} s: {report.summary()}.")
    else:
        print(f"Nothing to do: {args.out} matches the feed ({report.summary()}).")
    return 0


def _fingerprint(args, index_by: str, options, store: ModelStore) -> str:
    """What an index is built from: the feed, the selection, how it is read and indexed (so
    ``--if-stale`` rebuilds when any of them changes)."""
    from companion.catalog.build import source_fingerprint
    from companion.catalog.feed import FeedOptions
    from companion.catalog.feeds.product import READING_RULES
    from companion.catalog.views import finders_fingerprint
    from companion.inference.embedder import PHOTO_WEIGHT

    fingerprint = source_fingerprint(args.feed, *([args.split] if args.split else []))
    fingerprint += f":rules={READING_RULES}"
    if getattr(args, "limit", None):
        fingerprint = f"{fingerprint}:limit={args.limit}"
    fingerprint = f"{fingerprint}:index-by={index_by}"
    if index_by == "garment":  # a worn product's vector depends on its photo's weight, and
        # its crop on the models that find the person and the garment
        fingerprint += f":photo-weight={PHOTO_WEIGHT:g}:finders={finders_fingerprint(store)}"
    if options != FeedOptions():  # the same file read another way is another source
        fingerprint += f":feed={options.format},{sorted(options.columns.items())}," \
                       f"{options.currency},{options.shop_url}"
    return fingerprint


def _split_filter(split: Path | None):
    """With a split.tsv, a filter keeping only the products of its 'index' split."""
    if split is None:
        return None
    import csv

    with split.open(encoding="utf-8") as handle:
        indexed = {r["id"] for r in csv.DictReader(handle, delimiter="\t")
                   if r["split"] == "index"}
    return lambda product: product.id in indexed


def where(feed: Path, problem) -> str:
    """``feed.tsv:12`` for a line (as compilers write it), ``products.json: item 12`` else."""
    return f"{feed}:{problem.line}" if problem.unit == "line" else f"{feed}: {problem.where}"
