"""Small feeds made from the shared catalog's rows, for builds and updates in tests: a few
products of chosen article types, adults' and kids', written as a Merchant Center TSV whose
image links point at the shared photos (or wherever the test serves them from)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from companion.catalog.feed import age_group_of
from tests.support.data import CATALOG
from training.data.catalog import read_feed


def index_rows() -> list[dict[str, str]]:
    """The catalog's index-split rows, in feed order."""
    return read_feed(CATALOG).rows_of("index")


def pick(article_types: Iterable[str], per_group: int, skip: int = 0,
         ages: Iterable[str] = ("adult", "kids")) -> list[dict[str, str]]:
    """``per_group`` rows of each (article type, age group), after the first ``skip`` of each;
    the age group as the companion reads it (a "Kids Match Jersey" is a kids' product)."""
    wanted = {(a, age) for a in article_types for age in ages}
    seen: dict[tuple[str, str], int] = {}
    chosen = []
    for row in index_rows():
        group = (row["article_type"], age_group_of(row["age_group"], row["title"]))
        if group not in wanted:
            continue
        seen[group] = seen.get(group, 0) + 1
        if skip < seen[group] <= skip + per_group:
            chosen.append(row)
    return chosen


def shared_photo(row: dict[str, str]) -> str:
    return str(CATALOG / row["image_link"])


def write_feed(path: Path, rows: list[dict[str, str]],
               image_link: Callable[[dict[str, str]], str] = shared_photo) -> Path:
    """A TSV feed of ``rows`` (the shared feed's columns) at ``path``."""
    header = (CATALOG / "feed.tsv").read_text(encoding="utf-8").split("\n", 1)[0].split("\t")
    lines = ["\t".join(header)]
    for row in rows:
        lines.append("\t".join(image_link(row) if column == "image_link" else row[column]
                               for column in header))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
