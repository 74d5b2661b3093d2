"""Google Merchant Center XML feeds: RSS 2.0 (``<item>``) or Atom (``<entry>``) with the ``g:``
namespace, read as a stream with expat.

A feed comes from outside, so the parser refuses any DTD: no entity is ever declared, hence none
expands (no "billion laughs") and none is fetched from a file or the network (no XXE). A feed that
stops being well-formed part way keeps the items before the fault and reports the fault's line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.parsers import expat

from companion.catalog.feeds.product import (
    MAX_FIELD_CHARS,
    FeedOptions,
    FeedProblem,
    Product,
    ProductRows,
)

GOOGLE = "http://base.google.com/ns/1.0"
ITEMS = ("item", "entry")  # RSS 2.0, Atom 1.0
CHUNK = 64 * 1024


class RefusedXml(Exception):
    """The feed declares a DTD or entities: refused before anything expands."""


class _Items:
    """expat handlers collecting each item's direct children by local name (``g:`` first)."""

    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.depth = 0  # inside an item: 1 at the item, 2 at its fields
        self.line = 0
        self.fields: dict[str, str] = {}
        self.google: set[str] = set()
        self.name = ""
        self.text: list[str] = []
        self.size = 0
        self.done: list[tuple[int, dict[str, str]]] = []

    def start(self, name: str, attributes: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        if self.depth:
            self.depth += 1
            if self.depth == 2:
                self.name, self.text, self.size = local, [], 0
                if local == "link" and "href" in attributes:  # Atom's <link href="…"/>
                    self._keep(local, attributes["href"], namespace == GOOGLE)
        elif local in ITEMS:
            self.depth, self.line = 1, self.parser.CurrentLineNumber
            self.fields, self.google = {}, set()

    def characters(self, data: str) -> None:
        if self.depth == 2 and self.size <= MAX_FIELD_CHARS:
            self.text.append(data)
            self.size += len(data)

    def end(self, name: str) -> None:
        if not self.depth:
            return
        if self.depth == 2 and self.text:
            namespace, _, local = name.rpartition(" ")
            self._keep(local, "".join(self.text), namespace == GOOGLE)
        self.depth -= 1
        if self.depth == 0:
            self.done.append((self.line, self.fields))

    def _keep(self, name: str, value: str, google: bool) -> None:
        """``g:title`` wins over a plain ``title``; the first of repeated fields counts."""
        if name in self.fields and (name in self.google or not google):
            return
        self.fields[name] = value
        if google:
            self.google.add(name)


def _refuse(*_args) -> None:
    raise RefusedXml("the feed declares a DTD (<!DOCTYPE …>), which a product feed never needs")


def read_xml(handle: BinaryIO, options: FeedOptions) -> Iterator[Product | FeedProblem]:
    """Each ``<item>``/``<entry>`` as a product; problems carry the item's line."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    items = _Items(parser)
    parser.StartElementHandler = items.start
    parser.EndElementHandler = items.end
    parser.CharacterDataHandler = items.characters
    rows = ProductRows(options)
    while True:
        chunk = handle.read(CHUNK)
        try:
            parser.Parse(chunk, not chunk)
        except expat.ExpatError as exc:
            yield from _made(rows, items)
            reason = expat.errors.messages[exc.code]
            yield rows.problem(exc.lineno, f"the XML is malformed here ({reason}); items from "
                               "here on could not be read")
            return
        except RefusedXml as exc:
            yield from _made(rows, items)
            yield rows.problem(parser.CurrentLineNumber, f"{exc}; items from here on were not read")
            return
        yield from _made(rows, items)
        if not chunk:
            return


def _made(rows: ProductRows, items: _Items) -> Iterator[Product | FeedProblem]:
    for line, fields in items.done:
        yield rows.make(line, fields)
    items.done.clear()
