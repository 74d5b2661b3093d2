"""A look of two shops on a refreshed catalog, for the panel window: the refreshed notice, each
card's shop, and the age switch clicked for kids' products. The look and its photo are made here
(no data set); searches are answered by ``Recorder``, which notes each request's age group.
``shops_scenario`` writes what the page showed for tests/e2e/test_panel_window.py to judge."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from companion.pipeline.look import LookRequest
from tests.support.panel_driver import screenshot, wait_for

SHOWN = """JSON.stringify({
  notices: [...document.querySelectorAll('#results .notice')].map(n => n.textContent),
  shops: [...document.querySelectorAll('#results .card-shop')].map(n => n.textContent),
  ageHidden: document.getElementById('age-filter').hidden,
  ages: [...document.querySelectorAll('#age-filter button')].map(
    b => [b.textContent, b.getAttribute('aria-checked')])})"""


def product(product_id: str, shop: str, age_group: str = "adult") -> dict:
    return {"id": product_id, "score": 0.9, "title": f"Jeans {product_id}", "image_link": "",
            "link": f"https://{shop}.example/{product_id}", "category": "bottomwear",
            "gender": "female", "price": "39.99 EUR", "availability": "in_stock", "shop": shop,
            "age_group": age_group}


def shops_look(age_group: str = "adult", refreshed: bool = True) -> dict:
    matches = [product("a1", "north", age_group), product("b1", "south", age_group)]
    look = {"image": "", "width": 300, "height": 400, "people": [],
            "items": [{"category": "bottomwear", "box": [0, 0, 300, 400], "person": None,
                       "score": 1.0, "whole_photo": True, "matches": matches}],
            "timings_ms": {"total": 1.0}}
    return {**look, "catalog_refreshed": True} if refreshed else look


class Recorder:
    """The panel's search: answers with the same shops for the asked age group, and notes it."""

    def __init__(self) -> None:
        self.age_groups: list[str] = []

    def __call__(self, data: bytes, request: LookRequest) -> dict:
        self.age_groups.append(request.age_group)
        return shops_look(request.age_group, refreshed=False)


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (40, 50, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def shops_scenario(panel, recorder: Recorder, out: Path) -> dict:
    panel.wait_ready()
    panel.show_look(shops_look(), photo())
    wait_for(panel, "document.querySelectorAll('#results .card').length === 2", 20)
    before = json.loads(panel.evaluate(SHOWN))
    screenshot(panel, out / "shops.png")
    panel.evaluate("document.querySelector('#age-filter [data-age=kids]').click()")
    wait_for(panel, "document.querySelector('#age-filter [data-age=kids]')"
                    ".getAttribute('aria-checked') === 'true'", 20)
    return {"before": before, "after": json.loads(panel.evaluate(SHOWN)),
            "age_groups": recorder.age_groups}
