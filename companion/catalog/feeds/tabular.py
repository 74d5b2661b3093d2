"""Row-per-product feeds: GMC's TSV, CSV exports and JSON Lines, with a column mapping.

A header (or a JSON object's keys) names each value; ``--columns title=name,image_link=img``
says which column holds a GMC field when the feed names it otherwise. Headers are compared
loosely ("Image Link", "image-link" and "image_link" are one column); a field's GMC name is used
when no mapping names it. A JSON value may be reached by a dotted path (``image_link=image.src``,
``image_link=images.0``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from typing import TextIO

from companion.catalog.feeds.product import (
    FIELDS,
    REQUIRED_FIELDS,
    FeedOptions,
    FeedProblem,
    Product,
    ProductRows,
)
from companion.errors import ErrorCode, LookError


def read_delimited(handle: TextIO, options: FeedOptions, delimiter: str,
                   quoting: int = csv.QUOTE_MINIMAL) -> Iterator[Product | FeedProblem]:
    """A header row, then one row per product; problems carry the row's first line."""
    reader = csv.reader(handle, delimiter=delimiter, quoting=quoting)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    names = [_loose(name) for name in header]
    where = _locate(names, options.columns)
    missing = [name for name in REQUIRED_FIELDS if name not in where]
    if missing:
        raise LookError(
            ErrorCode.FEED_COLUMNS,
            f"The feed lacks the column(s) {', '.join(missing)}; its header is "
            f"{', '.join(header[:20]) or 'empty'}. A feed needs id, title and image_link: name "
            "the feed's own columns with --columns (e.g. --columns id=sku,image_link=img).",
        )
    rows = ProductRows(options)
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a cell over the size limit, a NUL byte, …
            line = reader.line_num
            yield rows.problem(start, f"unreadable row: {exc}")
            continue
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) > len(header):
            yield rows.problem(start, "the row has more cells than the header")
            continue
        yield rows.make(start, {name: cells[i] for name, i in where.items() if i < len(cells)})


def read_json_lines(handle: TextIO, options: FeedOptions) -> Iterator[Product | FeedProblem]:
    """One JSON object per line; a line that is not one is a problem, the others still count."""
    rows = ProductRows(options)
    for line, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except (ValueError, RecursionError) as exc:
            yield rows.problem(line, f"not valid JSON: {str(exc)[:120]}")
            continue
        if not isinstance(record, dict):
            yield rows.problem(line, "not a JSON object")
            continue
        yield rows.make(line, fields_of_record(record, options.columns))


def fields_of_record(record: Mapping, columns: Mapping[str, str]) -> dict[str, str]:
    """A JSON object's values under GMC names (mapped, loose keys, dotted paths)."""
    loose = {_loose(str(key)): value for key, value in record.items()}
    fields = {}
    for name in FIELDS:
        source = columns.get(name)
        value = _dig(record, source) if source else loose.get(name)
        if source and value is None:
            value = loose.get(_loose(source))
        if isinstance(value, list):  # a list of images, of tags: the first
            value = value[0] if value else None
        if value is None or isinstance(value, dict | list):
            continue
        fields[name] = "" if isinstance(value, bool) else str(value)
    return fields


def _locate(names: list[str], columns: Mapping[str, str]) -> dict[str, int]:
    """GMC field → index of the column holding it."""
    where = {}
    for name in FIELDS:
        wanted = _loose(columns.get(name, name))
        if wanted in names:
            where[name] = names.index(wanted)
    return where


def _dig(record: Mapping, path: str) -> object:
    value: object = record
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _loose(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())
