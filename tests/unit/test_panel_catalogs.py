"""The panel and the catalogs: the kids' switch re-runs a look for another age group, products
of several shops say their shop, and the first look on a refreshed catalog says so."""

from __future__ import annotations

import pytest

from companion.errors import LookError
from companion.panel.api import PanelApi
from companion.panel.controller import PanelController
from companion.panel.i18n import messages
from companion.panel.layout import build_layout
from companion.pipeline.look import LookRequest


def product(product_id: str, shop: str = "", **extra) -> dict:
    return {"id": product_id, "score": 0.9, "title": f"Product {product_id}",
            "image_link": "", "link": f"https://{shop or 'shop'}.example/{product_id}",
            "category": "bottomwear", "shop": shop, **extra}


def look_of(*matches: dict, **extra) -> dict:
    return {"image": "street.jpg", "width": 400, "height": 800, "people": [],
            "items": [{"category": "bottomwear", "box": [0, 0, 400, 800], "person": None,
                       "matches": list(matches)}], **extra}


class Recorder:
    """Stands in for the pipeline's search and records each request."""

    def __init__(self) -> None:
        self.requests: list[LookRequest] = []

    def __call__(self, data: bytes, request: LookRequest) -> dict:
        self.requests.append(request)
        return look_of(product(f"{request.age_group}-1"))


def test_the_kids_switch_reruns_the_look_for_the_chosen_age_group():
    search = Recorder()
    controller = PanelController(search)
    assert controller.add_look(look_of(product("p")), b"photo")["session"]["age_group"] == \
        "adult"
    payload = controller.set_age_group("kids")
    assert search.requests[-1].age_group == "kids"
    assert payload["session"]["age_group"] == "kids"
    assert [c["id"] for c in payload["layout"]["garments"][0]["cards"]] == ["kids-1"]
    controller.set_gender("female")
    assert (search.requests[-1].gender, search.requests[-1].age_group) == ("female", "kids"), \
        "the gender switch keeps the age group"
    with pytest.raises(LookError):
        controller.set_age_group("teens")


def test_the_switch_starts_where_the_companion_was_told():
    controller = PanelController(Recorder(), age_group="all")
    assert controller.add_look(look_of(product("p")), b"photo")["session"]["age_group"] == "all"


def test_cards_name_their_shop_only_when_a_look_has_several():
    one = build_layout(look_of(product("a", "north"), product("b", "north")))
    assert [c["shop_label"] for c in one["garments"][0]["cards"]] == ["", ""]
    two = build_layout(look_of(product("a", "north"), product("a", "south")))
    assert [c["shop_label"] for c in two["garments"][0]["cards"]] == ["north", "south"]
    assert "{shop}" in messages("en")["card.shop"] and "{shop}" in messages("el")["card.shop"]


def test_equal_ids_of_two_shops_open_each_shops_own_link():
    opened: list[str] = []
    controller = PanelController(Recorder())
    controller.add_look(look_of(product("a", "north"), product("a", "south")), b"photo")
    api = PanelApi(controller, open_url=opened.append)
    api.open_product("a", "south")
    api.open_product("a", "north")
    assert opened == ["https://south.example/a", "https://north.example/a"]


def test_the_first_look_on_a_refreshed_catalog_says_so_in_both_languages():
    assert build_layout(look_of(product("a"), catalog_refreshed=True))["notices"][0] == \
        "catalog_refreshed"
    assert "catalog_refreshed" not in build_layout(look_of(product("a")))["notices"]
    assert messages("en")["notice.catalog_refreshed"] != messages("el")["notice.catalog_refreshed"]
