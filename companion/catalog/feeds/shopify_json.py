"""A Shopify store's ``products.json`` (``{"products": [...]}``): one catalog product per
Shopify product, whatever its variants.

The index searches photos, and a Shopify product's variants (sizes, mostly) share its photos, so
the product is indexed once: with its first image, the lowest price among the variants one can
buy (among all when none can be bought), in stock when any variant is, and the GTIN (barcode) and
MPN (SKU, as Google's own Shopify channel maps it) of the variant whose price it shows.
``product_type`` and then the tags give the category; tags and product_type give gender and age
("women", "gender:female", "kids", "age_group:toddler", …). Problems carry the product's item
number (1-based) in the ``products`` list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from companion.catalog.categories import category_of
from companion.catalog.feeds.product import (
    AGE_GROUPS,
    FeedOptions,
    FeedProblem,
    Product,
    ProductRows,
    gender_of,
)
from companion.errors import ErrorCode, LookError

KIDS_WORDS = {"kids", "kid", "children", "child", "baby", "babies", "boys", "girls", "junior"}


def read_shopify(handle: BinaryIO, options: FeedOptions) -> Iterator[Product | FeedProblem]:
    try:
        document = json.load(handle)
    except (ValueError, RecursionError) as exc:
        raise LookError(ErrorCode.FEED_FORMAT,
                        f"The Shopify products.json is not valid JSON: {str(exc)[:200]}") from None
    products = document.get("products") if isinstance(document, dict) else None
    if not isinstance(products, list):
        raise LookError(ErrorCode.FEED_FORMAT,
                        'A Shopify feed is a JSON object with a "products" list.')
    rows = ProductRows(options, unit="item")
    for item, product in enumerate(products, start=1):
        if not isinstance(product, dict):
            yield rows.problem(item, "not a JSON object")
            continue
        yield rows.make(item, _fields(product, options))


def _fields(product: dict, options: FeedOptions) -> dict[str, str]:
    tags = _tags(product.get("tags"))
    product_type = _text(product.get("product_type"))
    variant = _shown_variant(product.get("variants"))
    handle = _text(product.get("handle"))
    words = [*tags, *product_type.lower().replace(">", " ").split()]
    fields = {
        "id": _text(product.get("id")),
        "title": _text(product.get("title")),
        "link": f"{options.shop_url.rstrip('/')}/products/{handle}" if options.shop_url and handle
        else "",
        "image_link": _first_image(product),
        "product_type": product_type,
        "brand": _text(product.get("vendor")),
        "gender": next((g for g in map(gender_of, _values(words)) if g), ""),
        "age_group": "kids" if any(_is_kids(w) for w in _values(words)) else "adult",
        "color": _color(product),
    }
    if category_of(product_type) == "other":  # a shop's own type name: try the tags
        fields["product_type"] = next((t for t in tags if category_of(t) != "other"),
                                      product_type)
    if variant is not None:
        fields["price"] = _text(variant.get("price"))
        fields["availability"] = "in_stock" if _can_buy(variant) else "out_of_stock"
        fields["gtin"] = _text(variant.get("barcode"))
        fields["mpn"] = _text(variant.get("sku"))
    return fields


def _shown_variant(variants: object) -> dict | None:
    """The variant whose price the catalog shows: the cheapest one can buy."""
    if not isinstance(variants, list):
        return None
    priced = [v for v in variants if isinstance(v, dict) and _amount(v.get("price")) is not None]
    buyable = [v for v in priced if _can_buy(v)]
    candidates = buyable or priced
    return min(candidates, key=lambda v: _amount(v.get("price"))) if candidates else None


def _can_buy(variant: dict) -> bool:
    """``available`` (the storefront's JSON), else the Admin API's inventory fields."""
    if "available" in variant:
        return bool(variant["available"])
    quantity = variant.get("inventory_quantity")
    if isinstance(quantity, int) and variant.get("inventory_policy") != "continue":
        return quantity > 0
    return True


def _first_image(product: dict) -> str:
    images = product.get("images")
    if isinstance(images, list):
        ordered = sorted((i for i in images if isinstance(i, dict) and i.get("src")),
                         key=lambda i: i.get("position") if isinstance(i.get("position"), int)
                         else 0)
        if ordered:
            return _text(ordered[0]["src"])
    image = product.get("image")
    return _text(image.get("src")) if isinstance(image, dict) else ""


def _color(product: dict) -> str:
    """The colour when the product comes in exactly one (an option named Color/Colour)."""
    for option in product.get("options") or []:
        if isinstance(option, dict) and _text(option.get("name")).lower() in ("color", "colour"):
            values = option.get("values")
            if isinstance(values, list) and len(values) == 1:
                return _text(values[0])
    return ""


def _tags(value: object) -> list[str]:
    """Tags as a comma-separated string (storefront) or a list (some exports), lowercase."""
    parts = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [t.strip().lower() for t in parts if isinstance(t, str) and t.strip()]


def _values(words: list[str]) -> list[str]:
    """Each tag, and the value of ``key:value`` tags (``gender:female``, ``age_group:kids``)."""
    return [part for word in words for part in (word, word.rpartition(":")[2].strip())]


def _is_kids(word: str) -> bool:
    return word in KIDS_WORDS or AGE_GROUPS.get(word) == "kids"


def _amount(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _text(value: object) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value).strip()
