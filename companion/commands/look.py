"""``shop-the-look look IMAGE...``: find the garments of photos in the catalog."""

from __future__ import annotations

from pathlib import Path

from companion import branding, paths
from companion.commands.device import add_device_option
from companion.errors import ErrorCode, LookError


def register(commands) -> None:
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
    look.add_argument("--index", type=Path, action="append", default=None, metavar="DIR",
                      help="catalog index folder, or a folder of several; repeat it to search "
                      "several shops at once (default: $SHOP_THE_LOOK_INDEX or the demo index "
                      f"at {paths.default_index_dir()})")
    look.add_argument("--top-k", type=int, default=5, metavar="K",
                      help="products per garment (default: 5)")
    look.add_argument("--gender", choices=["female", "male", "all"],
                      help="override the gender found in the photo")
    look.add_argument("--age-group", choices=["adult", "kids", "all"], default="adult",
                      help="whose products to show: adults' (default), kids' or everyone's")
    look.add_argument("--garments", choices=["detector", "keypoints"],
                      default=branding.current().garment_finder,
                      help="find garments with the trained detector or from body keypoints "
                      f"(default: {branding.current().garment_finder})")
    look.add_argument("--json", action="store_true",
                      help="print one JSON object per image, one per line")
    look.add_argument("--show", action="store_true",
                      help="also open the results window with the looks (needs the panel extra)")
    add_device_option(look)
    look.set_defaults(handler=run)


def run(args) -> int:
    """Print each photo's look (or its error); 1 when no photo could be looked at."""
    from companion.catalog.catalogs import Catalogs
    from companion.inference.store import ModelStore
    from companion.pipeline.look import LookPipeline, LookRequest
    from companion.pipeline.look_output import print_failure, print_look, read_photo

    if args.top_k < 1:
        raise LookError(ErrorCode.BAD_ARGUMENT, "--top-k must be at least 1.")
    request = LookRequest(top_k=args.top_k, gender=args.gender, age_group=args.age_group)
    index_dirs = args.index or [paths.default_index_dir()]
    if args.show:
        from companion.panel.show import show_looks

        return show_looks(args.images, index_dirs, request, as_json=args.json)
    pipeline = LookPipeline(ModelStore(), Catalogs.open(index_dirs), garment_finder=args.garments)
    failures = 0
    for path in args.images:
        try:
            look = pipeline.run(read_photo(path), source=str(path), request=request)
        except LookError as error:
            if error.status >= 500:  # the catalog or a model is broken: no point going on
                raise
            failures += 1
            print_failure(str(path), error, args.json)
            continue
        print_look(look, args.json)
    return 1 if failures == len(args.images) else 0
