"""The panel names each garment by its fine class, asks Women / Men for a person whose gender
the look left unknown, and explains a picture too small to shop (issue 29), without a window."""

from __future__ import annotations

import json
import re

import pytest

from companion.errors import LookError
from companion.panel import i18n
from companion.panel.api import PanelApi
from companion.panel.controller import PanelController
from companion.panel.layout import FINE_CLASSES, build_layout, error_layout
from companion.pipeline.look import LookRequest
from tests.support.data import REPO

EXTENSION = REPO / "extension"
TITLES = {"shirt": "Top", "jacket": "Jacket", "pants": "Trousers", "shorts": "Shorts",
          "skirt": "Skirt", "dress": "Dress", "shoes": "Shoes", "bag": "Bag"}


def match(product_id: str) -> dict:
    return {"id": product_id, "score": 0.8, "title": f"Product {product_id}",
            "image_link": f"https://img.example/{product_id}.jpg",
            "link": f"https://shop.example/products/{product_id}", "price": "29.99 EUR",
            "availability": "in_stock"}


def item(category: str, fine: str | None, person: int | None = 0, tag: str = "") -> dict:
    garment = {"category": category, "box": [100, 100, 200, 200], "person": person,
               "score": 0.9, "matches": [match(f"{tag}{category}-{fine}")]}
    if fine is not None:
        garment.update({"class": fine, "class_score": 0.8})
    return garment


def person(gender: str, background: bool = False) -> dict:
    score = 0.5 if gender == "unknown" else 0.9
    return {"box": [80, 40, 320, 780], "score": 0.9, "background": background,
            "gender": {"label": gender, "score": score}}


def look(people: list[dict], items: list[dict]) -> dict:
    return {"image": "street.jpg", "width": 400, "height": 800, "people": people,
            "items": items, "timings_ms": {"total": 100.0}}


def titles(layout: dict) -> list[str]:
    english = i18n.messages("en")
    return [english[g["label_key"]] for g in layout["garments"]]


# --- rows titled by fine class ---------------------------------------------------------
def test_rows_are_titled_by_fine_class_outer_layers_first():
    layered = look([person("female")], [
        item("topwear", "shirt"), item("footwear", "shoes"), item("bottomwear", "skirt"),
        item("bag", "bag"), item("topwear", "jacket"), item("bottomwear", "pants")])
    layout = build_layout(layered)
    assert titles(layout) == ["Jacket", "Top", "Skirt", "Trousers", "Shoes", "Bag"]
    assert [g["fine_class"] for g in layout["garments"]][:2] == ["jacket", "shirt"]


@pytest.mark.parametrize("fine", [None, "", "hat", 7])
def test_without_a_known_class_the_row_keeps_its_category_title(fine):
    garment = item("bottomwear", "x")
    garment["class"] = fine
    layout = build_layout(look([person("male")], [garment]))
    assert titles(layout) == ["Bottoms"] and layout["garments"][0]["fine_class"] == ""


@pytest.mark.parametrize("lang", ["en", "el"])
def test_every_fine_class_has_a_title_in_both_languages(lang):
    messages = i18n.messages(lang)
    for name in FINE_CLASSES:
        title = messages[f"class.{name}"]
        if lang == "en":
            assert title == TITLES[name]
        else:
            assert re.search("[Α-ω]", title) and title != TITLES[name]


# --- Women / Men for an unknown person -------------------------------------------------
def test_an_unknown_persons_rows_wait_for_the_shoppers_answer():
    people = [person("female"), person("unknown")]
    items = [item("topwear", "shirt", 0), item("topwear", "shirt", 1),
             item("footwear", "shoes", 1)]
    layout = build_layout(look(people, items), ask_gender=True)
    assert [p["asks_gender"] for p in layout["people"]] == [False, True]
    assert {g["person"]: g["awaits_gender"] for g in layout["garments"]} == {0: False, 1: True}
    assert all(g["cards"] for g in layout["garments"]), "the products wait, they are not gone"

    answered = look([people[0], {**people[1], "chosen_gender": "male"}], items)
    layout = build_layout(answered, ask_gender=True)
    assert layout["people"][1]["asks_gender"] and layout["people"][1]["chosen_gender"] == "male"
    assert not any(g["awaits_gender"] for g in layout["garments"])


def test_nobody_is_asked_when_the_look_cannot_be_rerun_or_the_person_is_in_the_background():
    items = [item("topwear", "shirt", 0), item("topwear", "shirt", 1)]
    unknown = look([person("unknown"), person("unknown", background=True)], items)
    unknown["items"][0]["background"] = False
    unknown["items"][1]["background"] = True
    assert [p["asks_gender"] for p in build_layout(unknown, ask_gender=True)["people"]] == [
        True, False]  # the collapsed bystander's rows are not held back
    assert not any(p["asks_gender"] for p in build_layout(unknown)["people"])
    assert not any(g["awaits_gender"] for g in build_layout(unknown)["garments"])


class GenderedSearch:
    """Answers like the pipeline for two people (a woman, and someone of unknown gender); each
    product id says which gender it was searched for. Records every request."""

    def __init__(self) -> None:
        self.requests: list[LookRequest] = []

    def __call__(self, data: bytes, request: LookRequest) -> dict:
        self.requests.append(request)
        tag = f"{request.gender or 'mixed'}:"
        items = [item("topwear", "shirt", 0, tag), item("topwear", "jacket", 1, tag),
                 item("footwear", "shoes", 1, tag)]
        if request.categories:
            items = [i for i in items if i["category"] in request.categories]
        return look([person("female"), person("unknown")], items)


def shown(payload: dict) -> dict[tuple[int, str], list[str]]:
    return {(g["person"], g["fine_class"]): [c["id"] for c in g["cards"]]
            for g in payload["layout"]["garments"]}


def test_answering_reruns_the_look_for_that_person_only_and_is_remembered():
    search = GenderedSearch()
    controller = PanelController(search, top_k=4)
    first = controller.add_look(search(b"photo", LookRequest()), b"photo")
    assert [g["awaits_gender"] for g in first["layout"]["garments"]] == [False, True, True]

    payload = controller.set_person_gender(1, "male")
    assert search.requests[-1].gender == "male"
    assert shown(payload) == {(0, "shirt"): ["mixed:topwear-shirt"],
                              (1, "jacket"): ["male:topwear-jacket"],
                              (1, "shoes"): ["male:footwear-shoes"]}
    assert payload["layout"]["people"][1]["chosen_gender"] == "male"
    assert not any(g["awaits_gender"] for g in payload["layout"]["garments"])

    # the answer stays with the look: another switch re-runs it for her and for him apart
    payload = controller.set_age_group("all")
    assert [r.gender for r in search.requests[-2:]] == [None, "male"]
    assert shown(payload)[(1, "shoes")] == ["male:footwear-shoes"]
    payload = controller.more_results("footwear")
    assert [(r.gender, r.categories) for r in search.requests[-2:]] == [
        (None, ("footwear",)), ("male", ("footwear",))]
    assert shown(payload)[(1, "shoes")] == ["male:footwear-shoes"]

    # "Men" for everyone answers for all; back to "as detected", his answer is still there
    payload = controller.set_gender("female")
    assert not payload["layout"]["people"][1]["asks_gender"]
    payload = controller.set_gender("auto")
    assert payload["layout"]["people"][1]["chosen_gender"] == "male"
    assert shown(payload)[(1, "jacket")] == ["male:topwear-jacket"]


def test_a_wrong_answer_is_refused():
    controller = PanelController(GenderedSearch())
    controller.add_look(GenderedSearch()(b"photo", LookRequest()), b"photo")
    with pytest.raises(LookError):
        controller.set_person_gender(1, "all")
    api = PanelApi(controller)
    assert api.set_person_gender(5, "female")["error"]["code"] == "bad_argument"
    assert PanelApi(PanelController(None)).set_person_gender(0, "male")["error"]["code"] == (
        "no_look")


# --- too small to shop -----------------------------------------------------------------
def test_a_picture_too_small_to_shop_says_so_in_both_languages():
    layout = error_layout("image_too_small", "The image is 16 x 16 pixels.")
    english, greek = i18n.messages("en"), i18n.messages("el")
    assert english[layout["title_key"]] == "This picture is too small to find clothes in"
    assert "larger photo" in english[layout["hint_key"]]
    assert greek[layout["title_key"]].startswith("Η εικόνα είναι πολύ μικρή")
    assert re.search("[Α-ω]", greek[layout["hint_key"]])


def test_the_extension_has_its_own_sentence_for_a_picture_too_small():
    failures = (EXTENSION / "utils" / "failure.js").read_text(encoding="utf-8")
    assert re.search(r'\bimage_too_small: "errImageTooSmall"', failures)
    for lang, words in (("en", "too small"), ("el", "πολύ μικρή")):
        text = (EXTENSION / "_locales" / lang / "messages.json").read_text(encoding="utf-8")
        assert words in json.loads(text)["errImageTooSmall"]["message"]
