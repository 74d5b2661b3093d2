"""What every feed format turns its rows into, and the rules all formats share.

Each format reader (one module per format) only finds a row's fields under Google Merchant Center
names (id, title, link, image_link, price, gender, age_group, …) and where the row is; this module
checks and normalises them the same way for all, so one product reads the same from any format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from companion.catalog.categories import category_of
from companion.errors import ErrorCode, LookError

REQUIRED_FIELDS = ("id", "title", "image_link")
# The fields a feed row may carry, under their GMC names (what ``--columns`` may map to).
FIELDS = (
    "id", "title", "link", "image_link", "product_type", "google_product_category", "gender",
    "age_group", "price", "availability", "brand", "color", "article_type", "gtin", "mpn",
)
GENDERS = {
    "female": "female", "women": "female", "woman": "female", "womens": "female",
    "women's": "female", "ladies": "female", "girls": "female", "girl": "female",
    "male": "male", "men": "male", "man": "male", "mens": "male", "men's": "male",
    "boys": "male", "boy": "male", "unisex": "unisex",
}
# GMC's age_group values, folded to the two the catalog filters on.
AGE_GROUPS = {"newborn": "kids", "infant": "kids", "toddler": "kids", "kids": "kids",
              "adult": "adult", "": "adult"}
# A title that names a child's product makes it a kids' product whatever its age_group says:
# feeds often give every row one age group (the demo feed labels 287 "Kidswear", "Infant" and
# "Girl's" products adult), and a shopper looking at an adult is not shown infants' dungarees.
_KIDS_TITLE = re.compile(
    r"\b(kids?|kid['’]s|kidswear|infants?|toddlers?|newborns?|boys|boy['’]s|girls|girl['’]s)\b",
    re.IGNORECASE)
# How rows are read: bumped when a rule changes what a row means (2: a child's product by its
# title), so that `index build --if-stale` rebuilds an index read under the earlier rules.
READING_RULES = 2
MAX_FIELD_CHARS = 64 * 1024  # a longer value is a hostile or broken row, not a product
_BARE_AMOUNT = re.compile(r"\d+(?:[.,]\d+)?")
_CURRENCY_FIRST = re.compile(r"([A-Za-z]{3})\s*(\d+(?:[.,]\d+)?)")


@dataclass(frozen=True)
class Product:
    line: int  # where in the feed: 1-based line (the header is line 1), or item for JSON
    id: str
    title: str
    link: str
    image_link: str
    category: str
    gender: str  # female | male | unisex
    price: str = ""  # "144.99 EUR"
    availability: str = ""  # in_stock | out_of_stock | preorder | backorder
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
    unit: str = "line"  # "line" for text feeds, "item" for a JSON document's products

    @property
    def where(self) -> str:
        return f"{self.unit} {self.line}"


@dataclass(frozen=True)
class FeedOptions:
    """How to read a feed whose content alone does not say everything."""

    format: str = "auto"  # or one of companion.catalog.feeds.FORMATS
    columns: Mapping[str, str] = field(default_factory=dict)  # GMC field → the feed's column
    currency: str = ""  # for prices given as bare numbers (Shopify, many CSV exports)
    shop_url: str = ""  # for Shopify links: <shop_url>/products/<handle>


def parse_columns(text: str) -> dict[str, str]:
    """``"title=name,image_link=img"`` → ``{"title": "name", "image_link": "img"}``."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        ours, sep, theirs = pair.partition("=")
        ours, theirs = ours.strip().lower(), theirs.strip()
        if not sep or not theirs or ours not in FIELDS:
            raise LookError(
                ErrorCode.BAD_ARGUMENT,
                f"--columns takes FIELD=COLUMN pairs separated by commas (e.g. "
                f"title=name,image_link=img); '{pair}' is not one. FIELD is one of "
                f"{', '.join(FIELDS)}.",
            )
        mapping[ours] = theirs
    return mapping


class ProductRows:
    """Turns one feed's rows (fields under GMC names) into Products; refuses bad rows."""

    def __init__(self, options: FeedOptions, unit: str = "line") -> None:
        self.options = options
        self.unit = unit
        self.seen: set[str] = set()

    def problem(self, where: int, message: str) -> FeedProblem:
        return FeedProblem(where, message, self.unit)

    def make(self, where: int, fields: Mapping[str, str]) -> Product | FeedProblem:
        values = {name: _clean(fields.get(name)) for name in FIELDS}
        too_long = [name for name, value in values.items() if len(value) > MAX_FIELD_CHARS]
        if too_long:
            return self.problem(where, f"the field {too_long[0]} is longer than "
                                       f"{MAX_FIELD_CHARS} characters")
        product_id = values["id"]
        if not product_id:
            return self.problem(where, "missing id")
        if product_id in self.seen:
            return self.problem(where, f"duplicate id {product_id}")
        image = image_link_of(values["image_link"])
        if not image:
            return self.problem(where, f"product {product_id} has no image_link")
        if "://" in image and not image.startswith(("http://", "https://")):
            return self.problem(where, f"product {product_id}: image_link {image[:80]} is "
                                       "neither http(s) nor a path relative to the feed")
        self.seen.add(product_id)
        return Product(
            line=where,
            id=product_id,
            title=values["title"],
            link=values["link"],
            image_link=image,
            category=category_of(values["product_type"], values["google_product_category"]),
            gender=gender_of(values["gender"]) or "unisex",
            price=price_of(values["price"], self.options.currency),
            availability=availability_of(values["availability"]),
            brand=values["brand"],
            color=values["color"],
            product_type=values["product_type"],
            article_type=values["article_type"],
            age_group=age_group_of(values["age_group"], values["title"]),
            gtin=values["gtin"],
            mpn=values["mpn"],
        )


def gender_of(value: str) -> str:
    """female | male | unisex for a gender word, "" for anything else."""
    return GENDERS.get(value.strip().lower(), "")


def age_group_of(value: str, title: str = "") -> str:
    """adult | kids from a GMC age_group value; an unknown value counts as adult, unless the
    product's ``title`` names a child's product ("Kids", "Kidswear", "Infant", "Girl's", …)."""
    if _KIDS_TITLE.search(title):
        return "kids"
    return AGE_GROUPS.get(value.strip().lower(), "adult")


def price_of(value: str, currency: str = "") -> str:
    """"144.99 EUR" from "144.99 EUR", "EUR 144.99" or a bare "144.99" with ``currency``."""
    value = value.strip()
    first = _CURRENCY_FIRST.fullmatch(value)
    if first:
        return f"{first.group(2)} {first.group(1).upper()}"
    if currency and _BARE_AMOUNT.fullmatch(value):
        return f"{value} {currency.upper()}"
    return value


def availability_of(value: str) -> str:
    """GMC's spelling: "in stock" (the old form) and "In_Stock" are in_stock."""
    return "_".join(value.strip().lower().split())


def image_link_of(value: str) -> str:
    """A protocol-relative link (``//cdn.example/x.jpg``, as Shopify writes them) is https."""
    return f"https:{value}" if value.startswith("//") else value


def _clean(value: object) -> str:
    return "" if value is None else str(value).strip()
