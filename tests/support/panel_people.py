"""A crowded look for the panel window: one main subject in front, six small people behind her.

The look JSON has the main-subject fields of the pipeline (``background`` on people and items,
``crop`` on a match of a worn product photo); photo and product images are drawn here, so the
window test needs no data set. ``people_scenario`` drives the "More people" control with a click
and with a real key press, and writes what it saw for tests/e2e/test_panel_window.py to judge.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, ImageDraw

from tests.support.panel_driver import screenshot, wait_for

WIDTH, HEIGHT = 900, 1125
SKIN, HAIR = (222, 184, 150), (60, 40, 30)
MAIN = {"person": [300, 150, 620, 1100], "topwear": [310, 330, 610, 640],
        "bottomwear": [340, 620, 580, 1020]}
TOP_COLOUR, TROUSERS_COLOUR = (196, 78, 52), (38, 52, 92)
BACKGROUND_X = (40, 150, 690, 790, 230, 850)  # six small people on the pavement behind her
BYSTANDER_COLOURS = ((90, 140, 90), (200, 170, 60), (120, 90, 160), (70, 120, 170),
                     (170, 80, 110), (110, 110, 110))
FOREGROUND_PRODUCTS = 6
BACKGROUND_PRODUCTS = 3

SUMMARY = "document.querySelector('#results details.more-people summary')"
OPEN = (f"{SUMMARY}.parentElement.open"  # and the page has shown the people's boxes too
        " && document.getElementById('stage').classList.contains('more-people-open')")
SHOWN = """JSON.stringify((() => {
  const visible = (selector) =>
    [...document.querySelectorAll(selector)].filter(n => n.checkVisibility());
  const more = document.querySelector('#results details.more-people');
  return {
    rows: visible('#results .garment').length,
    rowIds: visible('#results .garment').map(s => s.dataset.garment),
    allRows: document.querySelectorAll('#results .garment').length,
    garmentBoxes: visible('#overlay .garment-box').length,
    personBoxes: visible('#overlay .person-box').length,
    control: more ? more.querySelector('summary').innerText.replace(/\\s+/g, ' ').trim() : null,
    controlVisible: Boolean(more && more.querySelector('summary').checkVisibility()),
    expanded: Boolean(more && more.open),
    lastRowIsControl: Boolean(more) && document.getElementById('results').lastElementChild === more,
    cardImages: [...document.querySelectorAll('.card img')].filter(i => i.naturalWidth > 0).length,
    cards: document.querySelectorAll('#results .card').length,
    lang: document.documentElement.lang,
  };
})())"""


def _person(draw: ImageDraw.ImageDraw, box: list[float], top: tuple, bottom: tuple) -> None:
    """A simple figure filling ``box``: head, top, trousers, shoes."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2
    draw.ellipse([cx - w * .16, y1, cx + w * .16, y1 + h * .17], fill=SKIN)
    draw.pieslice([cx - w * .17, y1 - h * .01, cx + w * .17, y1 + h * .12], 180, 360, fill=HAIR)
    draw.rounded_rectangle([x1, y1 + h * .19, x2, y1 + h * .52], radius=w * .12, fill=top)
    draw.rectangle([x1 + w * .1, y1 + h * .5, cx - w * .02, y1 + h * .93], fill=bottom)
    draw.rectangle([cx + w * .02, y1 + h * .5, x2 - w * .1, y1 + h * .93], fill=bottom)
    draw.rectangle([x1 + w * .06, y1 + h * .93, x2 - w * .06, y2], fill=(35, 35, 35))


def crowd_photo() -> bytes:
    """The street photo of the look: the main subject large, six people small behind her."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (232, 226, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, WIDTH, 360], fill=(205, 198, 186))  # a shop front
    for x in range(30, WIDTH, 170):
        draw.rectangle([x, 60, x + 120, 300], fill=(176, 190, 196))
    draw.rectangle([0, 520, WIDTH, HEIGHT], fill=(196, 192, 186))  # the pavement
    for x, colour in zip(BACKGROUND_X, BYSTANDER_COLOURS, strict=True):
        _person(draw, _bystander(x), colour, (60, 60, 70))
    _person(draw, MAIN["person"], TOP_COLOUR, TROUSERS_COLOUR)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _bystander(x: float) -> list[float]:
    return [x, 380, x + 52, 540]


def _product_image(path: Path, category: str, colour: tuple, worn: bool = False) -> None:
    """A packshot of one garment on white, or (``worn``) the garment on a model."""
    image = Image.new("RGB", (600, 800), (246, 244, 241) if worn else (255, 255, 255))
    draw = ImageDraw.Draw(image)
    if worn:
        _person(draw, [170, 40, 430, 780], (235, 232, 226), colour)
    elif category == "topwear":
        draw.polygon([(150, 180), (240, 140), (360, 140), (450, 180), (520, 300), (450, 330),
                      (430, 290), (430, 650), (170, 650), (170, 290), (150, 330), (80, 300)],
                     fill=colour)
    else:
        draw.polygon([(190, 120), (410, 120), (440, 700), (330, 700), (300, 300), (270, 700),
                      (160, 700)], fill=colour)
    image.save(path, "JPEG", quality=88)


WORN_CROP = [196, 410, 404, 728]  # the trousers of _person([170, 40, 430, 780]) in the worn photo


def _match(pid: str, score: float, title: str, category: str, **extra) -> dict:
    return {"id": pid, "score": score, "title": title, "category": category, "gender": "female",
            "image_link": f"https://img.example/{pid}.jpg",
            "link": f"https://shop.example/products/{pid}", "price": f"{19 + len(title)}.90 EUR",
            "availability": "in_stock", "crop": None, **extra}


TOPS = ("Linen camp-collar shirt", "Cotton poplin blouse", "Relaxed terracotta shirt",
        "Short-sleeve utility shirt", "Oversized Oxford shirt", "Boxy twill overshirt")
TROUSERS = ("Wide-leg pleated trousers", "High-rise straight jeans", "Tailored wool trousers",
            "Tapered chinos", "Barrel-leg jeans", "Cropped cigarette trousers")


def crowd_look(catalog: Path) -> tuple[dict, dict[str, str]]:
    """The look JSON (2 foreground items, 6 background ones) and product id → image path."""
    catalog.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}

    def product(pid: str, category: str, colour: tuple, worn: bool = False) -> str:
        path = catalog / f"{pid}.jpg"
        _product_image(path, category, colour, worn)
        paths[pid] = str(path)
        return pid

    tops = [_match(product(f"top{n}", "topwear", _shade(TOP_COLOUR, n)), 0.9 - n / 50,
                   TOPS[n], "topwear") for n in range(FOREGROUND_PRODUCTS)]
    trousers = [_match(product(f"trousers{n}", "bottomwear", _shade(TROUSERS_COLOUR, n),
                               worn=n == 0), 0.88 - n / 50, TROUSERS[n], "bottomwear",
                       crop=WORN_CROP if n == 0 else None)
                for n in range(FOREGROUND_PRODUCTS)]
    people = [{"box": MAIN["person"], "score": 0.97, "background": False,
               "gender": {"label": "female", "score": 0.94}}]
    items = [
        {"category": "topwear", "box": MAIN["topwear"], "person": 0, "score": 0.9,
         "background": False, "whole_photo": False, "matches": tops},
        {"category": "bottomwear", "box": MAIN["bottomwear"], "person": 0, "score": 0.86,
         "background": False, "whole_photo": False, "matches": trousers},
    ]
    for n, (x, colour) in enumerate(zip(BACKGROUND_X, BYSTANDER_COLOURS, strict=True), start=1):
        box = _bystander(x)
        people.append({"box": box, "score": 0.6, "background": True,
                       "gender": {"label": "unknown", "score": 0.5}})
        matches = [_match(product(f"bg{n}-{k}", "topwear", _shade(colour, k)), 0.6 - k / 50,
                          f"Crew-neck jumper {n}.{k + 1}", "topwear")
                   for k in range(BACKGROUND_PRODUCTS)]
        items.append({"category": "topwear", "box": [box[0], box[1] + 30, box[2], box[1] + 84],
                      "person": n, "score": 0.5, "background": True, "whole_photo": False,
                      "matches": matches})
    look = {"image": "crowd.jpg", "width": WIDTH, "height": HEIGHT, "people": people,
            "items": items, "timings_ms": {"total": 90.0}}
    return look, paths


def _shade(colour: tuple, n: int) -> tuple:
    return tuple(min(255, int(c * (1 + n * 0.12))) for c in colour)


def people_scenario(panel, look: dict, out: Path) -> dict:
    """Show ``look`` (``crowd_look``); read the collapsed panel; open the control by a click and
    by a key press."""
    result: dict = {"look": look}
    panel.wait_ready()
    panel.show_look(look, crowd_photo())
    wait_for(panel, "document.getElementById('photo').naturalWidth > 0")
    wait_for(panel, "[...document.querySelectorAll('.card img')].every(i => i.complete)")

    def shown() -> dict:
        return json.loads(panel.evaluate(SHOWN))

    result["collapsed"] = shown()
    result["worn_card"] = json.loads(panel.evaluate("""JSON.stringify((() => {
        const img = document.querySelector('.card[data-product="trousers0"] img');
        return img ? [img.naturalWidth, img.naturalHeight] : null; })())"""))
    # ↓ from the last visible row wraps to the first: the collapsed rows are skipped
    panel.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowDown'}))")
    panel.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowDown'}))")
    result["arrow_selected"] = panel.evaluate("window.panel.state().selected")
    panel.evaluate("document.getElementById('results').scrollTop = 1e6; 0")
    screenshot(panel, out / "people-collapsed.png")

    panel.evaluate(f"{SUMMARY}.click(); 0")
    wait_for(panel, OPEN, 10)
    result["clicked"] = shown()
    panel.evaluate(f"{SUMMARY}.scrollIntoView({{block: 'start'}}); 0")
    screenshot(panel, out / "people-expanded.png")
    panel.evaluate(f"{SUMMARY}.click(); 0")
    wait_for(panel, f"!({OPEN})", 10)
    result["closed_again"] = shown()

    # the keyboard: focus reaches the control, and a real Enter key press opens it
    panel.evaluate(f"{SUMMARY}.focus(); 0")
    result["control_focused"] = panel.evaluate(f"document.activeElement === {SUMMARY}")
    press_key(panel, "Return")
    wait_for(panel, OPEN, 10)
    result["by_keyboard"] = shown()
    return result


def press_key(panel, name: str) -> None:
    """A trusted key press into the page (Qt's ``Key_<name>``), sent as a user's keyboard would."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    view = panel.window.native.webview
    key = getattr(Qt.Key, f"Key_{name}")
    panel._gui_calls.run(lambda: QTest.keyClick(view.focusProxy() or view, key), wait=True)
