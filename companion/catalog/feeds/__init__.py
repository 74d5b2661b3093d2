"""Product feeds in the formats retailers have them, told apart by their content.

``read_feed(path)`` yields a ``Product`` for each good row and a ``FeedProblem`` (with its line,
or its item number in a JSON document) for each bad one, whatever the format:

- ``gmc-tsv``: Google Merchant Center's tab-separated feed (a header row of GMC names);
- ``gmc-xml``: GMC's RSS 2.0 or Atom feed with the ``g:`` namespace;
- ``shopify-json``: a Shopify store's ``products.json``;
- ``csv`` and ``jsonl``: exports with any column names, mapped by ``FeedOptions.columns``.

A gzip-compressed feed (``feed.xml.gz``) is read the same way. See docs/catalog.md.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from companion.catalog.feeds.gmc_xml import read_xml
from companion.catalog.feeds.product import FeedOptions, FeedProblem, Product
from companion.catalog.feeds.shopify_json import read_shopify
from companion.catalog.feeds.tabular import read_delimited, read_json_lines
from companion.errors import ErrorCode, LookError

FORMATS = ("gmc-tsv", "gmc-xml", "shopify-json", "csv", "jsonl")
HEAD = 64 * 1024
_SHOPIFY = re.compile(rb'\{\s*"products"\s*:\s*\[')


def read_feed(path: Path, options: FeedOptions | None = None) -> Iterator[Product | FeedProblem]:
    """Every product and problem of the feed at ``path``, its format found from its content."""
    options = options or FeedOptions()
    try:
        raw = path.open("rb", buffering=HEAD)  # a buffer that holds the whole head to peek at
    except OSError as exc:
        raise LookError(ErrorCode.FEED_UNREADABLE, f"Cannot open the feed {path}: {exc}") from None
    with raw:
        handle = raw
        if raw.peek(2)[:2] == b"\x1f\x8b":
            handle = io.BufferedReader(gzip.GzipFile(fileobj=raw), buffer_size=HEAD)
        try:
            head = handle.peek(HEAD)[:HEAD]
        except (OSError, EOFError) as exc:  # a damaged gzip stream
            raise LookError(ErrorCode.FEED_UNREADABLE, f"Cannot read the feed {path}: {exc}") \
                from None
        kind = options.format if options.format != "auto" else detect_format(head)
        try:
            yield from _read(kind, handle, options, head)
        except (OSError, EOFError, zlib.error) as exc:  # a disk error, a gzip stream cut short
            raise LookError(ErrorCode.FEED_UNREADABLE, f"The feed {path} could not be read to "
                            f"its end: {exc}") from None


def detect_format(head: bytes) -> str:
    """The format of a feed from its first bytes (a BOM and leading blanks are skipped)."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if text.startswith(b"<"):
        return "gmc-xml"
    if text.startswith(b"{"):
        if _SHOPIFY.match(text):
            return "shopify-json"
        first = text.split(b"\n", 1)[0]
        try:
            record = json.loads(first)
        except ValueError:
            record = None
        if isinstance(record, dict):
            return "jsonl"
        raise LookError(ErrorCode.FEED_FORMAT, "The feed is a JSON document but neither a "
                        'Shopify products.json ({"products": [...]}) nor JSON Lines (one object '
                        "per line).")
    header = text.split(b"\n", 1)[0]
    if b"\t" in header:
        return "gmc-tsv"
    if b"," in header or b";" in header:
        return "csv"
    raise LookError(ErrorCode.FEED_FORMAT, "The feed's format is none of GMC TSV, GMC XML, "
                    "Shopify products.json, CSV or JSON Lines (see docs/catalog.md); name it with "
                    "--format if the content hides it.")


def _read(kind: str, handle: BinaryIO, options: FeedOptions,
          head: bytes) -> Iterator[Product | FeedProblem]:
    if kind == "gmc-xml":
        yield from read_xml(handle, options)
        return
    if kind == "shopify-json":
        yield from read_shopify(handle, options)
        return
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="")
    if kind == "gmc-tsv":
        yield from read_delimited(text, options, "\t", csv.QUOTE_NONE)
    elif kind == "csv":
        header = head.split(b"\n", 1)[0]
        yield from read_delimited(text, options, ";" if header.count(b";") > header.count(b",")
                                  else ",")
    elif kind == "jsonl":
        yield from read_json_lines(text, options)
    else:
        raise LookError(ErrorCode.BAD_ARGUMENT,
                        f"Unknown feed format {kind!r}; one of {', '.join(FORMATS)}.")
