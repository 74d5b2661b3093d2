"""Look JSON → what the panel draws: boxes, labels and product cards, as plain data.

Kept free of any window code so every decision the panel makes (which boxes, which cards, which
label, which empty state) is unit-tested without a GUI. Boxes become fractions of the image so the
page can scale the photo freely. Text is never produced here, only message keys the page
translates (``static/i18n/<lang>.json``).

People in the background (``background: true`` in the look JSON, small next to the main subject)
are collapsed: their garments come last, marked ``collapsed``, and ``more_people`` says how many
people and rows hide behind the page's "More people" control, so a shopper first sees the main
subject's few rows. A look with no foreground garment collapses nothing. Absent keys mean false.

Each garment row is titled by its fine class (``items[].class``: "Skirt", "Jacket", "Shoes") and by
its category when the class is missing or unknown. A person whose gender is "unknown" is asked
about (``ask_gender``): the page shows a Women / Men choice above that person's rows, which wait
for it (``awaits_gender``) instead of showing both genders' products mixed; the shopper's answer
comes back as the panel-only key ``people[].chosen_gender``. People collapsed behind "More people"
are not asked: a shopper rarely shops a bystander, and six questions would bury the main rows.

When a look's products come from several shops (``serve --index A --index B``), each card says
its shop; with one shop the cards stay as they were. A look that is the first on a refreshed
catalog (``catalog_refreshed``) gets a notice saying so.
"""

from __future__ import annotations

from collections.abc import Callable

# Score above which a match is called the very product of the photo, per embedder; measured with
# python -m training.evaluate.exact_match on the demo catalog. An embedder that is not listed never
# gets the "exact match" label: we only claim what we measured. The shipped nanodet-embedder
# separates nothing (2026-11-28, 300 products per group): the best *other* product scores 0.987 at
# the median and 1.000 at p99.5, while the product's own photo cropped by 5% a side scores 0.986 at
# the median, and a half-size JPEG copy is not even in the top 100 for 43% of products. Neither does
# the 160-px garment-embedder: another product scores 1.000 at p99.5 (the catalog repeats photos
# under different ids), while a product's own photo re-encoded, cropped or padded scores 0.980 to
# 0.989 at the median. So neither has an entry. Add one when a run of the script prints a threshold.
EXACT_MATCH_THRESHOLDS: dict[str, float] = {}

AVAILABILITY = ("in_stock", "out_of_stock", "preorder", "backorder")
CATEGORY_ORDER = ("topwear", "dress", "bottomwear", "footwear", "bag", "other")
# The garment detector's fine classes (``items[].class``), outer layers first within a category:
# a jacket's row above the shirt under it, a skirt's above the trousers or shorts.
FINE_CLASSES = ("jacket", "shirt", "dress", "skirt", "pants", "shorts", "shoes", "bag")
CHOSEN_GENDERS = ("female", "male")  # what the shopper can answer for an "unknown" person

# What the user should do, per error code (message keys ``error.<kind>.title|hint``).
ERROR_KINDS = {
    "catalog_missing": "catalog_missing",
    "catalog_embedder_mismatch": "catalog_embedder_mismatch",
    "model_missing": "model_missing",
    "model_corrupt": "model_missing",
    "model_mismatch": "model_missing",
    "image_unreadable": "image_unreadable",
    "image_corrupt": "image_unreadable",
    "image_empty": "image_unreadable",
    "image_too_large": "image_too_large",
    "image_too_small": "image_too_small",
}

ImageSource = Callable[[dict], str]


def exact_threshold(embedder: str | None) -> float | None:
    """The measured "exact match" score for ``embedder``, or None when it was never measured."""
    return EXACT_MATCH_THRESHOLDS.get(embedder or "")


def remote_image(match: dict) -> str:
    """Default image source: the feed's own http(s) ``image_link``, nothing local."""
    link = match.get("image_link") or ""
    return link if link.startswith(("http://", "https://")) else ""


def build_layout(
    look: dict, threshold: float | None = None, image_source: ImageSource = remote_image,
    ask_gender: bool = False,
) -> dict:
    """Turn one ``look_to_json`` object (plus panel-only keys such as ``drawn``) into layout data.

    ``threshold`` is the exact-match score (None: never claim an exact match); ``image_source``
    maps a match to the ``src`` of its card image; ``ask_gender``: the shopper can answer for a
    person of unknown gender (the look can be re-run, with no gender chosen for everyone).
    """
    if "error" in look:
        return error_layout(look["error"].get("code", ""), look["error"].get("message", ""))
    width, height = max(int(look["width"]), 1), max(int(look["height"]), 1)
    people = [
        {
            "id": f"p{number}",
            "box": _fractions(person["box"], width, height),
            "gender": person["gender"]["label"],
            "gender_score": person["gender"]["score"],
            "label_key": f"person.{person['gender']['label']}",
            "background": bool(person.get("background")),
            "chosen_gender": _chosen(person),
        }
        for number, person in enumerate(look.get("people", []))
    ]
    shops = {m.get("shop") or "" for item in look.get("items", []) for m in item.get("matches", [])}
    garments = [
        _garment(number, item, width, height, threshold, image_source, len(shops) > 1)
        for number, item in enumerate(look.get("items", []))
    ]
    collapse = any(not g["background"] and not g["drawn"] for g in garments)
    for garment in garments:
        garment["collapsed"] = collapse and garment["background"]
    _ask_gender(people, garments, ask_gender)
    garments.sort(key=_garment_order)
    notices = ["catalog_refreshed"] if look.get("catalog_refreshed") else []
    if not people:
        notices.append("no_person")
    if people and not any(not g["drawn"] for g in garments):
        notices.append("no_garments")
    if garments and not any(g["cards"] for g in garments):
        notices.append("no_matches")
    first = garments[0]["id"] if garments else None
    selected = next((g["id"] for g in garments if g["cards"] and not g["collapsed"]), first)
    return {
        "state": "look",
        "width": width,
        "height": height,
        "mode": "people" if people else "product",
        "people": people,
        "garments": garments,
        "selected": selected,
        "notices": notices,
        "more_people": _more_people([g for g in garments if g["collapsed"]]),
        "exact_threshold": threshold,
    }


def error_layout(code: str, message: str) -> dict:
    """An error state: a title and a hint the user can act on, plus the core's own message."""
    kind = ERROR_KINDS.get(code, "generic")
    return {
        "state": "error",
        "code": code,
        "title_key": f"error.{kind}.title",
        "hint_key": f"error.{kind}.hint",
        "detail": message,
    }


def _ask_gender(people: list[dict], garments: list[dict], allowed: bool) -> None:
    """Mark who is asked about (``asks_gender``) and whose rows wait for the answer."""
    shown = {g["person"] for g in garments if not g["collapsed"] and not g["drawn"]}
    for number, person in enumerate(people):
        person["asks_gender"] = (allowed and person["gender"] == "unknown" and number in shown)
    for garment in garments:
        person = people[garment["person"]] if _is_person(garment["person"], people) else None
        garment["awaits_gender"] = bool(person and person["asks_gender"]
                                        and not person["chosen_gender"] and not garment["drawn"])


def _is_person(number: object, people: list[dict]) -> bool:
    return isinstance(number, int) and 0 <= number < len(people)


def _chosen(person: dict) -> str:
    chosen = person.get("chosen_gender") or ""
    return chosen if chosen in CHOSEN_GENDERS else ""


def fine_class(item: dict) -> str:
    """The garment's fine class when the look names a known one, else ""."""
    name = item.get("class") or ""
    return name if name in FINE_CLASSES else ""


def _garment(number: int, item: dict, width: int, height: int, threshold: float | None,
             image_source: ImageSource, show_shop: bool = False) -> dict:
    category = item.get("category") or "other"
    name = fine_class(item)
    return {
        "id": f"g{number}",
        "index": number,
        "category": category,
        "fine_class": name,
        "label_key": f"class.{name}" if name else f"category.{category}",
        "person": item.get("person"),
        "drawn": bool(item.get("drawn")),
        "background": bool(item.get("background")) and not item.get("drawn"),
        "whole_photo": bool(item.get("whole_photo")),
        "box": _fractions(item["box"], width, height),
        "cards": [_card(m, threshold, image_source, show_shop) for m in item.get("matches", [])],
    }


def _card(match: dict, threshold: float | None, image_source: ImageSource,
          show_shop: bool = False) -> dict:
    score = float(match.get("score") or 0.0)
    exact = threshold is not None and score >= threshold
    availability = (match.get("availability") or "").strip().lower().replace(" ", "_")
    return {
        "id": match["id"],
        "title": match.get("title") or match["id"],
        "price": _price(match.get("price") or ""),
        "availability": availability if availability in AVAILABILITY else "",
        "label": "exact" if exact else "similar",
        "link": match.get("link") or "",
        "image": image_source(match),
        "shop": match.get("shop") or "",  # which catalog: the key to its link and photo
        "shop_label": (match.get("shop") or "") if show_shop else "",
    }


def _price(price: str) -> str:
    """Merchant Center writes "144.99 EUR"; show "144.99 €" for the common currencies."""
    symbols = {"EUR": "€", "USD": "$", "GBP": "£"}
    parts = price.split()
    if len(parts) == 2 and parts[1] in symbols:
        return f"{parts[0]} {symbols[parts[1]]}"
    return price


def _fractions(box: list[float], width: int, height: int) -> dict:
    """Pixel box → fractions of the image, clipped to it (the page positions with percentages)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    left, top = min(max(x1 / width, 0.0), 1.0), min(max(y1 / height, 0.0), 1.0)
    right, bottom = min(max(x2 / width, 0.0), 1.0), min(max(y2 / height, 0.0), 1.0)
    return {
        "left": round(left, 5), "top": round(top, 5),
        "width": round(max(right - left, 0.0), 5), "height": round(max(bottom - top, 0.0), 5),
    }


def _more_people(collapsed: list[dict]) -> dict | None:
    """What the "More people" control hides: how many people and how many garment rows."""
    if not collapsed:
        return None
    people = {g["person"] if g["person"] is not None else f"item{g['index']}" for g in collapsed}
    return {"people": len(people), "garments": len(collapsed)}


def _garment_order(garment: dict) -> tuple:
    """Foreground first, person by person, top to bottom of the outfit; then the user's drawn
    regions; the collapsed background people last."""
    category = garment["category"]
    rank = CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)
    name = garment["fine_class"]
    layer = FINE_CLASSES.index(name) if name else len(FINE_CLASSES)
    person = garment["person"] if garment["person"] is not None else 1_000
    return (garment["collapsed"], garment["drawn"], garment["background"], person, rank, layer,
            garment["index"])
