"""The panel's decisions without a window: layout data, the controller's re-runs, messages."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time

import pytest
from PIL import Image

from companion.errors import LookError
from companion.panel import i18n
from companion.panel.api import PanelApi
from companion.panel.controller import PanelController
from companion.panel.images import catalog_image_source, photo_data_url
from companion.panel.layout import (
    build_layout,
    error_layout,
    exact_threshold,
)
from companion.panel.pairing import PairingPrompt
from companion.pipeline.look import LookRequest
from companion.server.pairing import PairingRequest
from tests.support.data import REPO

STATIC = REPO / "companion" / "panel" / "static"
ORIGIN = "chrome-extension://knhekecfkhfdgpmjaboemjdidiipffjc"


def match(product_id: str, score: float, **extra) -> dict:
    return {"id": product_id, "score": score, "title": f"Product {product_id}",
            "image_link": f"https://img.example/{product_id}.jpg",
            "link": f"https://shop.example/products/{product_id}", "category": "topwear",
            "gender": "female", "price": "29.99 EUR", "availability": "in_stock", **extra}


def a_look(**changes) -> dict:
    look = {
        "image": "street.jpg", "width": 400, "height": 800,
        "people": [{"box": [100, 50, 300, 780], "score": 0.9,
                    "gender": {"label": "female", "score": 0.93}}],
        "items": [
            {"category": "footwear", "box": [120, 700, 280, 790], "person": 0, "score": 1.0,
             "matches": [match("s1", 0.81)]},
            {"category": "topwear", "box": [110, 150, 290, 400], "person": 0, "score": 1.0,
             "matches": [match("t1", 0.97), match("t2", 0.90, availability="out of stock")]},
        ],
        "timings_ms": {"total": 120.0},
    }
    look.update(changes)
    return look


# --- layout -------------------------------------------------------------------------
def test_boxes_become_fractions_and_garments_read_top_to_bottom():
    layout = build_layout(a_look())
    assert layout["state"] == "look" and layout["mode"] == "people"
    assert [g["category"] for g in layout["garments"]] == ["topwear", "footwear"]
    assert layout["people"][0]["box"] == {"left": 0.25, "top": 0.0625, "width": 0.5,
                                          "height": 0.9125}
    assert layout["people"][0]["label_key"] == "person.female"
    assert layout["selected"] == "g1"  # the top, first in reading order
    assert [len(g["cards"]) for g in layout["garments"]] == [2, 1]
    assert layout["notices"] == []


def test_boxes_outside_the_image_are_clipped():
    look = a_look(items=[{"category": "bag", "box": [-20, 700, 500, 900], "person": None,
                          "matches": []}])
    box = build_layout(look)["garments"][0]["box"]
    assert box == {"left": 0.0, "top": 0.875, "width": 1.0, "height": 0.125}


def test_exact_label_only_at_or_above_the_threshold():
    cards = build_layout(a_look(), threshold=0.95)["garments"][0]["cards"]
    assert [c["label"] for c in cards] == ["exact", "similar"]
    unmeasured = build_layout(a_look(), threshold=None)["garments"][0]["cards"]
    assert {c["label"] for c in unmeasured} == {"similar"}


def test_the_shipped_embedders_never_claim_an_exact_match():
    """The exact-match measurement found no threshold that separates a product's own photo from
    other products for either shipped embedder; an embedder nobody measured gets no claim."""
    for embedder in ("garment-embedder", "nanodet-embedder", "someone-elses-model"):
        assert exact_threshold(embedder) is None
    shipped = exact_threshold("garment-embedder")
    cards = build_layout(a_look(), threshold=shipped)["garments"][0]["cards"]
    assert {c["label"] for c in cards} == {"similar"}


def test_cards_carry_price_availability_and_link():
    card = build_layout(a_look())["garments"][0]["cards"][1]
    assert card["price"] == "29.99 €"
    assert card["availability"] == "out_of_stock"
    assert card["link"] == "https://shop.example/products/t2"
    assert card["image"] == "https://img.example/t2.jpg"
    odd = build_layout(a_look(items=[{"category": "topwear", "box": [0, 0, 10, 10],
                                      "person": 0, "matches": [match("x", 0.5, price="12 NOK",
                                                                     availability="maybe",
                                                                     image_link="images/x.jpg")]}]))
    card = odd["garments"][0]["cards"][0]
    assert (card["price"], card["availability"], card["image"]) == ("12 NOK", "", "")


def test_product_photo_mode_still_shows_matches():
    look = a_look(people=[], items=[{"category": "topwear", "box": [0, 0, 400, 800],
                                     "person": None, "matches": [match("t1", 0.9)]}])
    layout = build_layout(look)
    assert layout["mode"] == "product"
    assert layout["notices"] == ["no_person"]
    assert len(layout["garments"][0]["cards"]) == 1


def test_a_person_without_garments_says_what_to_do():
    layout = build_layout(a_look(items=[]))
    assert layout["notices"] == ["no_garments"]
    assert layout["selected"] is None
    no_matches = build_layout(a_look(items=[{"category": "topwear", "box": [0, 0, 9, 9],
                                             "person": 0, "matches": []}]))
    assert no_matches["notices"] == ["no_matches"]


def test_drawn_regions_come_last_and_are_marked():
    look = a_look()
    look["items"].insert(0, {"category": "bag", "box": [0, 0, 50, 50], "person": None,
                             "matches": [match("b", 0.7)], "drawn": True})
    garments = build_layout(look)["garments"]
    assert garments[-1]["drawn"] and garments[-1]["category"] == "bag"


def a_crowd(background_people: int, items_each: int, foreground: bool = True) -> dict:
    """A main subject in front (two garments) and small people behind her."""
    people = [{"box": [100, 50, 300, 780], "score": 0.9, "background": not foreground,
               "gender": {"label": "female", "score": 0.93}}]
    items = [{"category": c, "box": b, "person": 0, "background": not foreground,
              "matches": [match(f"{c}0", 0.9)]}
             for c, b in (("bottomwear", [120, 400, 280, 690]), ("topwear", [110, 150, 290, 400]))]
    for n in range(1, background_people + 1):
        people.append({"box": [330, 300, 360, 400], "score": 0.6, "background": True,
                       "gender": {"label": "male", "score": 0.7}})
        items += [{"category": "topwear", "box": [332, 310, 358, 350], "person": n,
                   "background": True, "matches": [match(f"bg{n}-{k}", 0.5)]}
                  for k in range(items_each)]
    return a_look(people=people, items=items)


def test_background_people_are_collapsed_behind_more_people():
    layout = build_layout(a_crowd(background_people=2, items_each=2))
    garments = layout["garments"]
    assert [g["collapsed"] for g in garments] == [False, False, True, True, True, True]
    assert [g["person"] for g in garments] == [0, 0, 1, 1, 2, 2]  # the main subject first
    assert [g["category"] for g in garments[:2]] == ["topwear", "bottomwear"]
    assert layout["more_people"] == {"people": 2, "garments": 4}
    assert layout["selected"] == garments[0]["id"]
    assert [p["background"] for p in layout["people"]] == [False, True, True]


def test_the_selection_never_starts_inside_the_collapsed_rows():
    look = a_crowd(background_people=1, items_each=1)
    for item in look["items"][:2]:
        item["matches"] = []
    layout = build_layout(look)
    assert layout["selected"] == layout["garments"][0]["id"]
    assert not layout["garments"][0]["collapsed"]


def test_a_photo_of_background_people_only_shows_them_all():
    layout = build_layout(a_crowd(background_people=3, items_each=1, foreground=False))
    assert layout["more_people"] is None
    assert not any(g["collapsed"] for g in layout["garments"])
    assert all(g["background"] for g in layout["garments"])


def test_looks_without_background_keys_collapse_nothing():
    layout = build_layout(a_look())  # the look JSON before the main-subject fields existed
    assert layout["more_people"] is None
    assert {(g["background"], g["collapsed"], g["whole_photo"]) for g in layout["garments"]} == {
        (False, False, False)}
    assert layout["people"][0]["background"] is False


def test_drawn_regions_stay_in_view_between_foreground_and_background():
    look = a_crowd(background_people=1, items_each=1)
    look["items"].append({"category": "bag", "box": [0, 0, 50, 50], "person": None,
                          "background": True, "matches": [match("b", 0.7)], "drawn": True})
    garments = build_layout(look)["garments"]
    assert [(g["drawn"], g["collapsed"]) for g in garments] == [
        (False, False), (False, False), (True, False), (False, True)]


def test_a_whole_photo_fallback_is_marked():
    look = a_look(items=[{"category": "dress", "box": [0, 0, 400, 800], "person": 0,
                          "whole_photo": True, "matches": [match("d", 0.6)]}])
    assert build_layout(look)["garments"][0]["whole_photo"] is True


@pytest.mark.parametrize(("code", "kind"), [
    ("catalog_missing", "catalog_missing"),
    ("catalog_embedder_mismatch", "catalog_embedder_mismatch"),
    ("model_missing", "model_missing"), ("model_corrupt", "model_missing"),
    ("image_unreadable", "image_unreadable"), ("something_new", "generic"),
])
def test_errors_name_what_to_do(code, kind):
    layout = error_layout(code, "details")
    assert layout["title_key"] == f"error.{kind}.title"
    assert layout["hint_key"] == f"error.{kind}.hint"
    assert build_layout({"image": "x", "error": {"code": code, "message": "m"}})["state"] == "error"


# --- messages -------------------------------------------------------------------------
def test_english_and_greek_have_the_same_keys_and_placeholders():
    en = json.loads((STATIC / "i18n" / "en.json").read_text(encoding="utf-8"))
    el = json.loads((STATIC / "i18n" / "el.json").read_text(encoding="utf-8"))
    assert en.keys() == el.keys()
    for key in en:
        assert set(re.findall(r"{\w+}", en[key])) == set(re.findall(r"{\w+}", el[key])), key
    assert re.search("[α-ω]", el["card.similar"])


def test_every_key_the_panel_uses_is_in_the_catalogue():
    en = i18n.messages("en")
    used = set(re.findall(r'data-i18n(?:-label)?="([\w.]+)"', (STATIC / "index.html").read_text()))
    used |= set(re.findall(r'\bt\("([\w.]+)"', (STATIC / "panel.js").read_text()))
    look = a_look(people=[], items=[])
    layouts = [build_layout(a_look()), build_layout(look), build_layout(a_look(items=[]))]
    for layout in layouts:
        used |= {p["label_key"] for p in layout["people"]}
        used |= {g["label_key"] for g in layout["garments"]}
        used |= {f"notice.{n}" for n in layout["notices"]}
    for code in ("catalog_missing", "catalog_embedder_mismatch", "model_missing", "other"):
        error = error_layout(code, "")
        used |= {error["title_key"], error["hint_key"]}
    for category in ("topwear", "bottomwear", "footwear", "dress", "bag", "other"):
        used.add(f"category.{category}")
    used |= {"card.exact", "card.similar", "availability.out_of_stock"}
    assert used - en.keys() == set()


def test_language_comes_from_the_override_then_the_locale():
    assert i18n.choose_language({"SHOP_THE_LOOK_LANG": "el", "LANG": "en_US.UTF-8"}) == "el"
    assert i18n.choose_language({"LANG": "el_GR.UTF-8"}) == "el"
    assert i18n.choose_language({"LC_ALL": "en_GB.UTF-8", "LANG": "el_GR.UTF-8"}) == "en"
    assert i18n.choose_language({"LANG": "fr_FR.UTF-8"}) == "en"
    assert i18n.messages("el")["card.similar"] != i18n.messages("en")["card.similar"]


# --- images ---------------------------------------------------------------------------
def test_photo_becomes_an_upright_data_url_in_memory():
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 1000), (200, 10, 10)).save(buffer, "PNG")
    url = photo_data_url(buffer.getvalue())
    assert url.startswith("data:image/jpeg;base64,")
    shown = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert max(shown.size) == 1600
    assert photo_data_url(b"not an image") == "" and photo_data_url(None) == ""


def test_local_product_photos_become_thumbnails(tmp_path):
    path = tmp_path / "p.png"
    Image.new("RGBA", (800, 1000), (0, 0, 0, 0)).save(path)
    source = catalog_image_source(lambda pid: {"image_path": str(path)} if pid == "p" else None)
    assert source(match("p", 0.9)).startswith("data:image/jpeg;base64,")
    assert source(match("q", 0.9)) == "https://img.example/q.jpg"  # not local: its web link
    gone = catalog_image_source(lambda pid: {"image_path": str(tmp_path / "gone.jpg")})
    assert gone(match("g", 0.9, image_link="images/g.jpg")) == ""


def test_a_worn_product_photo_shows_the_garment_it_was_indexed_by(tmp_path):
    """A match's ``crop`` (its garment's box in the catalog's own photo) becomes the card."""
    path = tmp_path / "worn.png"
    photo = Image.new("RGB", (400, 800), (255, 255, 255))
    photo.paste((30, 60, 200), (100, 400, 300, 700))  # the trousers, below a white top
    photo.save(path)
    source = catalog_image_source(lambda pid: {"image_path": str(path)})

    def shown(**extra) -> Image.Image:
        url = source(match("p", 0.9, **extra))
        return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")

    whole, crop = shown(), shown(crop=[100, 400, 300, 700])
    assert whole.size[1] / whole.size[0] == pytest.approx(2.0, abs=0.02)
    assert crop.size[0] / crop.size[1] == pytest.approx(248 / 348, abs=0.01)  # + 8% of 300 a side
    red, _, blue = crop.getpixel((crop.size[0] // 2, crop.size[1] // 2))
    assert blue > 150 and red < 80  # the garment itself fills the card
    assert shown(crop=[900, 900, 950, 950]).size == whole.size  # a box off the photo: whole
    assert shown(crop=None).size == whole.size


# --- controller and js_api ------------------------------------------------------------
class FakeSearch:
    """Answers like the pipeline and records every request."""

    def __init__(self) -> None:
        self.requests: list[LookRequest] = []

    def __call__(self, data: bytes, request: LookRequest) -> dict:
        self.requests.append(request)
        if request.region is not None:
            return a_look(image="", items=[{"category": "bag", "box": list(request.region),
                                            "person": None, "matches": [match("b1", 0.8)]}])
        items = a_look()["items"]
        if request.categories:
            items = [i for i in items if i["category"] in request.categories]
        for item in items:
            item["matches"] = [match(f"{item['category']}{n}", 0.9 - n / 100)
                               for n in range(request.top_k)]
        return a_look(image="", items=items)


def test_gender_switch_reruns_the_look_and_keeps_its_source():
    search = FakeSearch()
    controller = PanelController(search, top_k=4)
    controller.add_look(a_look(), b"photo")
    payload = controller.set_gender("male")
    assert search.requests[-1].gender == "male"
    assert payload["session"]["gender"] == "male"
    assert payload["session"]["source"] == "street.jpg"
    controller.set_gender("auto")
    assert search.requests[-1].gender is None
    with pytest.raises(LookError):
        controller.set_gender("robot")


def test_more_results_reruns_one_category_with_more_products():
    search = FakeSearch()
    controller = PanelController(search, top_k=4)
    controller.add_look(a_look(), b"photo")
    payload = controller.more_results("topwear")
    assert search.requests[-1].categories == ("topwear",)
    assert search.requests[-1].top_k == 8
    cards = {g["category"]: len(g["cards"]) for g in payload["layout"]["garments"]}
    assert cards == {"topwear": 8, "footwear": 1}


def test_a_drawn_region_is_searched_in_pixels_of_the_photo():
    search = FakeSearch()
    controller = PanelController(search)
    controller.add_look(a_look(), b"photo")
    payload = controller.search_region(0.5, 0.25, 0.25, 0.75)  # any corner order
    assert search.requests[-1].region == (100.0, 200.0, 200.0, 600.0)
    drawn = [g for g in payload["layout"]["garments"] if g["drawn"]]
    assert len(drawn) == 1 and payload["layout"]["selected"] == drawn[0]["id"]
    with pytest.raises(LookError, match="larger box"):
        controller.search_region(0.1, 0.1, 0.101, 0.2)
    after = controller.remove_region(0)
    assert not any(g["drawn"] for g in after["layout"]["garments"])


def test_api_opens_only_links_of_shown_products():
    opened: list[str] = []
    controller = PanelController(FakeSearch())
    api = PanelApi(controller, open_url=opened.append)
    controller.add_look(a_look(), b"photo")
    assert api.open_product("t2") == {"opened": "https://shop.example/products/t2"}
    assert api.open_product("javascript:alert(1)")["error"]["code"] == "no_link"
    assert opened == ["https://shop.example/products/t2"]
    assert api.set_gender("robot")["error"]["code"] == "bad_argument"


def test_without_a_pipeline_nothing_can_be_rerun():
    controller = PanelController(None)
    assert controller.payload()["layout"]["state"] == "waiting"
    payload = controller.add_look(a_look(), None)
    assert payload["session"]["can_search"] is False
    assert PanelApi(controller).set_gender("all")["error"]["code"] == "search_unavailable"
    error = controller.set_error("catalog_missing", "No catalog index at x.")
    assert error["layout"]["state"] == "error"


def test_history_keeps_the_last_looks_only():
    controller = PanelController(None)
    for n in range(12):
        payload = controller.add_look(a_look(image=f"{n}.jpg"), None)
    assert payload["session"] == {**payload["session"], "index": 9, "count": 10}
    assert controller.select(0)["session"]["source"] == "2.jpg"


# --- pairing question -----------------------------------------------------------------
def test_pairing_in_the_window_needs_the_code_typed():
    prompt = PairingPrompt()
    shown: list = []
    assert prompt.answer("123456") is False  # nothing asked yet
    threading.Timer(0.2, lambda: prompt.answer("123 456")).start()
    assert prompt.ask(PairingRequest(ORIGIN, "123456"), 5.0, shown.append) is True
    # the window shows who asks, never the code
    assert shown == [{"origin": ORIGIN, "alreadyPaired": False}, None]
    threading.Timer(0.2, lambda: prompt.answer("654322")).start()  # a wrong code
    assert prompt.ask(PairingRequest(ORIGIN, "654321", already_paired=True), 5.0,
                      shown.append) is False
    assert shown[2] == {"origin": ORIGIN, "alreadyPaired": True}  # "approving replaces" shows
    threading.Timer(0.2, lambda: prompt.answer(None)).start()  # "Don't pair"
    assert prompt.ask(PairingRequest(ORIGIN, "654321"), 5.0) is False
    assert prompt.ask(PairingRequest(ORIGIN, "111111"), 0.2) is False  # no answer: refused
    assert prompt.pending() is None


def test_a_withdrawn_pairing_question_comes_down_at_once():
    prompt = PairingPrompt()
    shown: list = []
    request = PairingRequest(ORIGIN, "123456")
    threading.Timer(0.2, request.withdrawn.set).start()
    started = time.monotonic()
    assert prompt.ask(request, 30.0, shown.append) is False
    assert time.monotonic() - started < 5
    assert shown[-1] is None and prompt.pending() is None
    assert prompt.answer("123456") is False, "the code arrives too late to answer anything"
