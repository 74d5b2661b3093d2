"""A whole outfit for the panel window: a woman in sunglasses (the look says gender "unknown")
in a jacket over a top, a skirt over black tights, a pair of shoes and a bag.

The look JSON has the fields the companion's look gives each garment (``class``,
``class_score``; one footwear item whose box holds both shoes); the photo and the product
images are drawn here, so the window test needs no data set. Searches are answered by
``OutfitSearch``, which tags every product with the gender it was searched for and notes each
request. ``outfit_scenario`` answers the panel's Women / Men question with a real click and
writes what the page showed for tests/e2e/test_panel_window.py to judge.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, ImageDraw

from companion.pipeline.look import LookRequest
from tests.support.panel_driver import screenshot, wait_for

WIDTH, HEIGHT = 900, 1200
PERSON = [270, 110, 650, 1170]
# (category, class, box, product titles): what the look found, outer layers first
GARMENTS = (
    ("topwear", "jacket", [300, 290, 620, 650],
     ("Cropped boucle jacket", "Single-breasted blazer", "Denim jacket", "Wool-blend coat")),
    ("topwear", "shirt", [405, 295, 515, 600],
     ("Ribbed knit top", "Fine-knit crew top", "Cotton jersey tee", "Satin camisole")),
    ("bottomwear", "skirt", [335, 625, 585, 865],
     ("Yellow A-line skirt", "Pleated midi skirt", "Corduroy mini skirt", "Wrap skirt")),
    ("footwear", "shoes", [365, 1085, 565, 1165],
     ("Black leather pumps", "Block-heel court shoes", "Slingback heels", "Pointed flats")),
    ("bag", "bag", [590, 540, 710, 690],
     ("Blue leather clutch", "Mini shoulder bag", "Quilted crossbody bag", "Envelope clutch")),
)
PRODUCTS = 4
COLOURS = {"jacket": (70, 70, 78), "shirt": (214, 112, 92), "skirt": (232, 190, 40),
           "shoes": (25, 25, 28), "bag": (40, 80, 170)}

ROWS = """JSON.stringify((() => {
  const rows = [...document.querySelectorAll('#results .garment')];
  const ask = document.querySelector('#results .ask-gender');
  return {
    lang: document.documentElement.lang,
    titles: rows.map(r => r.querySelector('.garment-title').textContent),
    classes: rows.map(r => r.dataset.class || ''),
    categories: rows.map(r => r.dataset.category),
    boxLabels: [...document.querySelectorAll('#overlay .garment-box')].map(b => b.innerText),
    cards: rows.map(r => [...r.querySelectorAll('.card')].map(c => c.dataset.product)),
    waiting: rows.map(r => r.querySelector('.garment-waiting')?.textContent || ''),
    cardImages: [...document.querySelectorAll('.card img')].filter(i => i.naturalWidth > 0).length,
    question: ask ? {
      text: ask.querySelector('.ask-text').innerText.replace(/\\s+/g, ' ').trim(),
      answered: ask.classList.contains('answered'),
      firstInResults: document.querySelector('#results').firstElementChild === ask,
      choices: [...ask.querySelectorAll('button')].map(
        b => [b.dataset.gender, b.textContent, b.getAttribute('aria-checked')]),
      visible: ask.checkVisibility(),
    } : null,
    personLabel: document.querySelector('#overlay .person-box')?.innerText || '',
  };
})())"""


def _photo() -> bytes:
    """The street photo: a shop front behind her; she wears everything in ``GARMENTS``."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (226, 222, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, WIDTH, 420], fill=(198, 192, 182))
    for x in range(20, WIDTH, 180):
        draw.rectangle([x, 50, x + 130, 360], fill=(170, 186, 194))
    draw.rectangle([0, 980, WIDTH, HEIGHT], fill=(190, 186, 180))
    cx = (PERSON[0] + PERSON[2]) / 2
    draw.ellipse([cx - 58, 120, cx + 58, 270], fill=(222, 184, 150))  # face
    draw.pieslice([cx - 64, 108, cx + 64, 230], 180, 360, fill=(84, 52, 34))  # hair
    draw.rounded_rectangle([cx - 50, 170, cx - 6, 196], radius=8, fill=(20, 20, 20))  # sunglasses
    draw.rounded_rectangle([cx + 6, 170, cx + 50, 196], radius=8, fill=(20, 20, 20))
    draw.rectangle([cx - 20, 255, cx + 20, 295], fill=(222, 184, 150))  # neck
    draw.rounded_rectangle([300, 290, 620, 650], radius=40, fill=COLOURS["jacket"])
    draw.rectangle([405, 295, 515, 600], fill=COLOURS["shirt"])  # the top, under the open jacket
    draw.polygon([(380, 625), (540, 625), (585, 865), (335, 865)], fill=COLOURS["skirt"])
    draw.rectangle([392, 865, 440, 1100], fill=(30, 30, 34))  # tights
    draw.rectangle([480, 865, 528, 1100], fill=(30, 30, 34))
    draw.ellipse([368, 1090, 455, 1160], fill=COLOURS["shoes"])  # a pair: one box holds both
    draw.ellipse([476, 1090, 562, 1160], fill=COLOURS["shoes"])
    draw.line([(600, 330), (650, 560)], fill=(30, 50, 110), width=5)
    draw.rounded_rectangle([590, 540, 710, 690], radius=14, fill=COLOURS["bag"])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _product(path: Path, fine: str, colour: tuple) -> None:
    """A packshot of one ``fine`` class garment on white."""
    image = Image.new("RGB", (600, 800), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    if fine in ("jacket", "shirt"):
        draw.polygon([(150, 180), (240, 140), (360, 140), (450, 180), (520, 520), (450, 540),
                      (430, 300), (430, 660), (170, 660), (170, 300), (150, 540), (80, 520)],
                     fill=colour)
        if fine == "jacket":
            draw.line([(300, 150), (300, 660)], fill=(255, 255, 255), width=6)
    elif fine == "skirt":
        draw.polygon([(220, 180), (380, 180), (470, 640), (130, 640)], fill=colour)
    elif fine == "shoes":
        draw.ellipse([90, 420, 290, 560], fill=colour)
        draw.ellipse([310, 420, 510, 560], fill=colour)
    else:
        draw.arc([200, 140, 400, 420], 180, 360, fill=colour, width=14)
        draw.rounded_rectangle([130, 280, 470, 620], radius=30, fill=colour)
    image.save(path, "JPEG", quality=88)


def _shade(colour: tuple, n: int, gender: str) -> tuple:
    lift = {"male": -0.25, "female": 0.12}.get(gender, 0.0) + n * 0.1
    return tuple(max(0, min(255, int(c * (1 + lift) + 20 * n))) for c in colour)


class OutfitSearch:
    """The panel's search for this photo: the same outfit, its products searched for the asked
    gender (ids ``<gender>-<class>-<n>``, "mixed" when none was asked); notes each request."""

    def __init__(self, catalog: Path) -> None:
        catalog.mkdir(parents=True, exist_ok=True)
        self.catalog = catalog
        self.products: dict[str, str] = {}
        self.requests: list[LookRequest] = []

    def __call__(self, data: bytes, request: LookRequest) -> dict:
        self.requests.append(request)
        return self.look(request.gender)

    def look(self, gender: str | None = None) -> dict:
        tag = gender or "mixed"
        items = []
        for category, fine, box, titles in GARMENTS:
            matches = [self._match(f"{tag}-{fine}-{n}", titles[n], category, fine, tag)
                       for n in range(PRODUCTS)]
            items.append({"category": category, "class": fine, "class_score": 0.86,
                          "box": box, "person": 0, "score": 0.9, "background": False,
                          "whole_photo": False, "matches": matches})
        people = [{"box": PERSON, "score": 0.97, "background": False,
                   "gender": {"label": "unknown", "score": 0.55}}]
        return {"image": "outfit.jpg", "width": WIDTH, "height": HEIGHT, "people": people,
                "items": items, "timings_ms": {"total": 95.0}}

    def _match(self, pid: str, title: str, category: str, fine: str, gender: str) -> dict:
        if pid not in self.products:
            path = self.catalog / f"{pid}.jpg"
            _product(path, fine, _shade(COLOURS[fine], int(pid[-1]), gender))
            self.products[pid] = str(path)
        return {"id": pid, "score": 0.82, "title": title, "category": category,
                "gender": "male" if gender == "male" else "female",
                "image_link": f"https://img.example/{pid}.jpg",
                "link": f"https://shop.example/products/{pid}", "price": "59.90 EUR",
                "availability": "in_stock", "crop": None}


def outfit_scenario(panel, search: OutfitSearch, out: Path) -> dict:
    """Show the outfit; read the rows and the question; answer "Women" with a click; read again;
    then switch the age group, which must keep the answer."""
    result: dict = {"look": search.look()}
    images = "[...document.querySelectorAll('.card img')].every(i => i.complete)"
    panel.wait_ready()
    panel.show_look(search.look(), _photo())
    wait_for(panel, "document.getElementById('photo').naturalWidth > 0")
    wait_for(panel, "document.querySelector('#results .ask-gender') !== null", 20)
    result["asked"] = json.loads(panel.evaluate(ROWS))
    screenshot(panel, out / "outfit-asked.png")

    panel.evaluate("document.querySelector('.ask-gender [data-gender=female]').click(); 0")
    wait_for(panel, "document.querySelector('.ask-gender [data-gender=female]')"
                    "?.getAttribute('aria-checked') === 'true' && !window.panel.state().busy", 30)
    wait_for(panel, images, 20)
    result["answered"] = json.loads(panel.evaluate(ROWS))
    result["answer_requests"] = [r.gender for r in search.requests]
    screenshot(panel, out / "outfit-answered.png")
    panel.evaluate("document.getElementById('results').scrollTop = 1e6; 0")
    screenshot(panel, out / "outfit-answered-end.png")

    before = len(search.requests)
    panel.evaluate("document.querySelector('#age-filter [data-age=all]').click(); 0")
    wait_for(panel, "document.querySelector('#age-filter [data-age=all]')"
                    ".getAttribute('aria-checked') === 'true' && !window.panel.state().busy", 30)
    result["after_switch"] = json.loads(panel.evaluate(ROWS))
    result["switch_requests"] = [r.gender for r in search.requests[before:]]
    return result
