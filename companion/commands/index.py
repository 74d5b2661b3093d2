"""``shop-the-look index build FEED --out DIR``: embed a product feed into a catalog index."""

from __future__ import annotations

import sys
from pathlib import Path


def register(commands) -> None:
    index = commands.add_parser("index", help="build catalog indexes from product feeds")
    actions = index.add_subparsers(title="actions", metavar="ACTION")
    build = actions.add_parser(
        "build", help="embed every product of a feed and write a searchable index",
        description="Read a Google Merchant Center style TSV feed (id, title, link, image_link, "
        "product_type, gender, …), embed each product photo and write one index per category. "
        "image_link may be a path relative to the feed or an http(s) URL. Bad rows are reported "
        "with their line number and skipped; the old index stays until the new one is complete.",
    )
    build.add_argument("feed", type=Path, metavar="FEED", help="the feed (.tsv)")
    build.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="index folder to write (replaced when the build succeeds)")
    build.add_argument("--limit", type=int, metavar="N", help="index only the first N products")
    build.add_argument("--split", type=Path, metavar="SPLIT_TSV",
                       help="a split.tsv (id, split): index only rows whose split is 'index'")
    build.add_argument("--if-stale", action="store_true",
                       help="do nothing when DIR already holds an index of this feed made with "
                       "this embedder")
    build.add_argument("--embedder", default=None,
                       help="embedding model (default: the shipped one)")
    build.add_argument("--index-by", choices=["garment", "photo"], default="garment",
                       help="garment (default): a photo of a model wearing the product is indexed "
                       "by the crop of the product's own garment, as a look's query is; a "
                       "packshot stays whole. photo: every photo whole (faster, and what indexes "
                       "built before this option did)")
    build.set_defaults(handler=run_build)
    index.set_defaults(handler=lambda _args: index.print_help() or 2)


def run_build(args) -> int:
    """Build the index and report skipped rows; 1 when no product could be indexed."""
    import csv

    from companion.catalog.build import build_index, is_up_to_date, source_fingerprint
    from companion.catalog.views import ProductViews
    from companion.inference.embedder import DEFAULT_EMBEDDER, Embedder
    from companion.inference.store import ModelStore

    include = None
    if args.split:
        with args.split.open(encoding="utf-8") as handle:
            indexed = {r["id"] for r in csv.DictReader(handle, delimiter="\t")
                       if r["split"] == "index"}
        include = lambda product: product.id in indexed  # noqa: E731
    store = ModelStore()
    embedder = Embedder(store, args.embedder or DEFAULT_EMBEDDER)
    fingerprint = source_fingerprint(args.feed, *([args.split] if args.split else []))
    if args.limit:
        fingerprint = f"{fingerprint}:limit={args.limit}"
    fingerprint = f"{fingerprint}:index-by={args.index_by}"
    if args.if_stale and is_up_to_date(args.out, embedder, fingerprint):
        print(f"{args.out} is up to date (same feed, same embedder).")
        return 0
    report = build_index(args.feed, args.out, embedder, limit=args.limit, include=include,
                         source_sha256=fingerprint,
                         views=ProductViews(store) if args.index_by == "garment" else None)
    for problem in report.problems:
        print(f"{args.feed}:{problem.line}: skipped: {problem.message}", file=sys.stderr)
    counts = ", ".join(f"{c} {n}" for c, n in sorted(report.counts.items()))
    print(f"Indexed {report.indexed} products into {args.out} in {report.seconds:.1f} s "
          f"({report.indexed / max(report.seconds, 1e-6):.1f} images/s): {counts}. "
          f"Skipped {len(report.problems)} row(s).")
    return 0 if report.indexed else 1
