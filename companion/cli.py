"""The ``shop-the-look`` command line: look at photos, build catalog indexes, list models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from companion import paths
from companion.errors import LookError
from companion.server.command import register as _register_serve

EPILOG = """examples:
  shop-the-look index build ../shared/data/catalog/feed.tsv --out index/demo
  shop-the-look look photo.jpg
  shop-the-look look photo.jpg other.png --json --top-k 5
  shop-the-look models list

Nothing you look at leaves this computer: the photo is read, analysed in memory and forgotten.
"""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except LookError as exc:
        print(f"error [{exc.code}]: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shop-the-look",
        description="Snap it, shop it: find each garment of a photo in a product catalog, "
        "entirely on this computer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMANDS:
        register(commands)
    return parser


def _register_look(commands) -> None:
    look = commands.add_parser(
        "look", help="find the garments of photos in the catalog",
        description="Detect people and their garments in each photo and list similar products. "
        "A photo without a person (a product shot) is matched as a whole. Each garment's "
        "products come from its nearest in the catalog, arranged with the feed's own labels: "
        "a near tie goes to the article type and colour the neighbours agree on, and repeats "
        "of one type and colour make room for close alternatives (the printed score is the "
        "plain similarity).",
    )
    look.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                      help="JPEG, PNG, WebP or GIF files")
    look.add_argument("--index", type=Path, default=None,
                      help="catalog index folder (default: $SHOP_THE_LOOK_INDEX or the demo index "
                      f"at {paths.default_index_dir()})")
    look.add_argument("--top-k", type=int, default=5, metavar="K",
                      help="products per garment (default: 5)")
    look.add_argument("--gender", choices=["female", "male", "all"],
                      help="override the gender found in the photo")
    look.add_argument("--garments", choices=["detector", "keypoints"], default="detector",
                      help="find garments with the trained detector (default) or from body "
                      "keypoints")
    look.add_argument("--json", action="store_true",
                      help="print one JSON object per image, one per line")
    look.add_argument("--show", action="store_true",
                      help="also open the results window with the looks (needs the panel extra)")
    look.set_defaults(handler=_run_look)


def _run_look(args) -> int:
    from companion.catalog.index import CatalogIndex
    from companion.inference.store import ModelStore
    from companion.pipeline.look import LookPipeline, LookRequest
    from companion.pipeline.result_json import error_to_json, look_to_json

    if args.top_k < 1:
        raise LookError("bad_argument", "--top-k must be at least 1.")
    if args.show:
        from companion.panel.show import show_looks

        request = LookRequest(top_k=args.top_k, gender=args.gender)
        return show_looks(args.images, args.index, request, as_json=args.json)
    pipeline = LookPipeline(ModelStore(), CatalogIndex(args.index or paths.default_index_dir()),
                            garment_finder=args.garments)
    request = LookRequest(top_k=args.top_k, gender=args.gender)
    failures = 0
    for path in args.images:
        try:
            data = path.read_bytes()
        except OSError as exc:
            error = LookError("image_unreadable", f"Cannot read {path}: {exc.strerror}.")
            failures += 1
            _print_failure(args, str(path), error, error_to_json)
            continue
        try:
            look = pipeline.run(data, source=str(path), request=request)
        except LookError as error:
            if error.status >= 500:  # the catalog or a model is broken: no point going on
                raise
            failures += 1
            _print_failure(args, str(path), error, error_to_json)
            continue
        if args.json:
            print(json.dumps(look_to_json(look), ensure_ascii=False), flush=True)
        else:
            print(format_look(look))
    return 1 if failures == len(args.images) else 0


def _print_failure(args, source: str, error: LookError, error_to_json) -> None:
    if args.json:
        print(json.dumps(error_to_json(source, error), ensure_ascii=False), flush=True)
    else:
        print(f"{source}: error [{error.code}]: {error.message}", file=sys.stderr)


def format_look(look) -> str:
    """A readable summary of a look for the terminal."""
    lines = [f"{look.source} ({look.width}×{look.height})"]
    if not look.people:
        lines.append("  no person found: matched the whole picture as a product photo")
    for number, (person, gender) in enumerate(look.people):
        lines.append(f"  person {number}: {gender.label} ({gender.score:.2f}), "
                     f"box {[round(v) for v in person.box]}")
    for item in look.items:
        owner = "" if item.garment.person is None else f" of person {item.garment.person}"
        lines.append(f"  {item.garment.category}{owner} at {[round(v) for v in item.garment.box]}")
        for match in item.matches:
            lines.append(f"    {match.score:.3f}  {match.title}  [{match.id}]  {match.link}")
    total = look.timings_ms.get("total", 0.0)
    lines.append(f"  took {total:.0f} ms")
    return "\n".join(lines)


def _register_index(commands) -> None:
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
    build.set_defaults(handler=_run_index_build)
    index.set_defaults(handler=lambda _args: index.print_help() or 2)


def _run_index_build(args) -> int:
    import csv

    from companion.catalog.build import build_index, is_up_to_date, source_fingerprint
    from companion.inference.store import ModelStore
    from companion.pipeline.embed import DEFAULT_EMBEDDER, Embedder

    include = None
    if args.split:
        with args.split.open(encoding="utf-8") as handle:
            indexed = {r["id"] for r in csv.DictReader(handle, delimiter="\t")
                       if r["split"] == "index"}
        include = lambda product: product.id in indexed  # noqa: E731
    embedder = Embedder(ModelStore(), args.embedder or DEFAULT_EMBEDDER)
    fingerprint = source_fingerprint(args.feed, *([args.split] if args.split else []))
    if args.limit:
        fingerprint = f"{fingerprint}:limit={args.limit}"
    if args.if_stale and is_up_to_date(args.out, embedder, fingerprint):
        print(f"{args.out} is up to date (same feed, same embedder).")
        return 0
    report = build_index(args.feed, args.out, embedder, limit=args.limit, include=include,
                         source_sha256=fingerprint)
    for problem in report.problems:
        print(f"{args.feed}:{problem.line}: skipped: {problem.message}", file=sys.stderr)
    counts = ", ".join(f"{c} {n}" for c, n in sorted(report.counts.items()))
    print(f"Indexed {report.indexed} products into {args.out} in {report.seconds:.1f} s "
          f"({report.indexed / max(report.seconds, 1e-6):.1f} images/s): {counts}. "
          f"Skipped {len(report.problems)} row(s).")
    return 0 if report.indexed else 1


def _register_models(commands) -> None:
    models = commands.add_parser("models", help="inspect the shipped models")
    actions = models.add_subparsers(title="actions", metavar="ACTION")
    listing = actions.add_parser("list", help="name, task, size, licence and checksum state")
    listing.set_defaults(handler=_run_models_list)
    models.set_defaults(handler=lambda _args: models.print_help() or 2)


def _run_models_list(_args) -> int:
    from companion.inference.manifest import file_sha256
    from companion.inference.store import ModelStore

    store = ModelStore()
    print(f"{'name':<20} {'task':<18} {'size':>8}  {'sha256':<8}  licence")
    broken = 0
    for name in store.available():
        manifest = store.manifest(name)
        ok = manifest.path.is_file() and file_sha256(manifest.path) == manifest.sha256
        broken += not ok
        print(f"{name:<20} {manifest.task:<18} {manifest.size_bytes / 1e6:>6.1f}MB  "
              f"{'ok' if ok else 'BAD':<8}  {manifest.licence}")
    return 1 if broken else 0


COMMANDS = [_register_look, _register_index, _register_models, _register_serve]

if __name__ == "__main__":
    sys.exit(main())
