"""The ``shop-the-look`` command line: builds the parser from the commands in
``companion/commands/`` (one module each) and runs the one asked for."""

from __future__ import annotations

import argparse
import sys

from companion import branding
from companion.commands import doctor, index, look, models, serve
from companion.commands.device import apply_device
from companion.errors import LookError

EPILOG = """examples:
  shop-the-look index build ../shared/data/catalog/feed.tsv --out index/demo
  shop-the-look look photo.jpg
  shop-the-look look photo.jpg other.png --json --top-k 5
  shop-the-look models list
  shop-the-look doctor                    what works here, and what to do about what does not

Nothing you look at leaves this computer: the photo is read, analysed in memory and forgotten.
"""

COMMANDS = [look.register, index.register, models.register, serve.register, doctor.register]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        apply_device(args)
        return args.handler(args)
    except LookError as exc:
        print(f"error [{exc.code}]: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=branding.current().command,
        description="Snap it, shop it: find each garment of a photo in a product catalog, "
        "entirely on this computer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMANDS:
        register(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
