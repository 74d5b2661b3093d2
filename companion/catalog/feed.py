"""Reading a Google Merchant Center style TSV feed, row by row, keeping line numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from companion.catalog.categories import category_of
from companion.errors import ErrorCode, LookError

REQUIRED_COLUMNS = ("id", "title", "image_link")
GENDERS = {"female": "female", "women": "female", "male": "male", "men": "male", "unisex": "unisex"}
# GMC's age_group values, folded to the two the catalog filters on.
AGE_GROUPS = {"newborn": "kids", "infant": "kids", "toddler": "kids", "kids": "kids",
              "adult": "adult", "": "adult"}


@dataclass(frozen=True)
class Product:
    line: int  # 1-based line in the feed (the header is line 1)
    id: str
    title: str
    link: str
    image_link: str
    category: str
    gender: str  # female | male | unisex
    price: str = ""
    availability: str = ""
    brand: str = ""
    color: str = ""
    product_type: str = ""
    article_type: str = ""
    age_group: str = "adult"  # adult | kids (newborn, infant, toddler and kids fold to kids)
    gtin: str = ""
    mpn: str = ""


@dataclass(frozen=True)
class FeedProblem:
    line: int
    message: str


def read_feed(path: Path) -> Iterator[Product | FeedProblem]:
    """Yield a Product for each good row and a FeedProblem (with its line) for each bad one."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise LookError(ErrorCode.FEED_UNREADABLE, f"Cannot open the feed {path}: {exc}") from None
    with handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise LookError(
                ErrorCode.FEED_COLUMNS,
                f"The feed {path} lacks the column(s) {', '.join(missing)}. A feed is a "
                "tab-separated file with a header row (id, title, link, image_link, …).",
            )
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            if None in row:  # more cells than header columns: a stray tab
                yield FeedProblem(line, "the row has more cells than the header")
                continue
            product_id = (row.get("id") or "").strip()
            if not product_id:
                yield FeedProblem(line, "missing id")
                continue
            if product_id in seen:
                yield FeedProblem(line, f"duplicate id {product_id}")
                continue
            if not (row.get("image_link") or "").strip():
                yield FeedProblem(line, f"product {product_id} has no image_link")
                continue
            seen.add(product_id)
            yield Product(
                line=line,
                id=product_id,
                title=(row.get("title") or "").strip(),
                link=(row.get("link") or "").strip(),
                image_link=row["image_link"].strip(),
                category=category_of(
                    row.get("product_type") or "", row.get("google_product_category") or ""
                ),
                gender=GENDERS.get((row.get("gender") or "").strip().lower(), "unisex"),
                price=(row.get("price") or "").strip(),
                availability=(row.get("availability") or "").strip(),
                brand=(row.get("brand") or "").strip(),
                color=(row.get("color") or "").strip(),
                product_type=(row.get("product_type") or "").strip(),
                article_type=(row.get("article_type") or "").strip(),
                age_group=age_group_of(row.get("age_group") or ""),
                gtin=(row.get("gtin") or "").strip(),
                mpn=(row.get("mpn") or "").strip(),
            )


def age_group_of(value: str) -> str:
    """adult | kids from a GMC age_group value; an unknown value counts as adult."""
    return AGE_GROUPS.get(value.strip().lower(), "adult")
