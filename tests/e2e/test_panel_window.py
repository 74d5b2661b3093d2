"""The real panel window on a real X server (Xvfb), driven through its page.

Each test runs tests/support/panel_driver.py in its own process (one GUI loop per process)
against an Xvfb this module starts, then judges what the driver saw. Screenshots land in the
test's tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest

from companion.catalog.index import IndexManifest
from companion.panel.layout import exact_threshold
from tests.support.companion_http import EXTENSION_ORIGIN
from tests.support.data import REPO, STREET, requires_data

pytestmark = [pytest.mark.panel, pytest.mark.slow]

DRIVER = "tests.support.panel_driver"  # run as a module from the repository root
RUN_TIMEOUT_S = 240


CLASS_TITLES = {"shirt": "Top", "jacket": "Jacket", "pants": "Trousers", "shorts": "Shorts",
                "skirt": "Skirt", "dress": "Dress", "shoes": "Shoes", "bag": "Bag"}
CATEGORY_TITLES = {"topwear": "Top", "bottomwear": "Bottoms", "footwear": "Shoes",
                   "dress": "Dress", "bag": "Bag", "other": "Item"}


@pytest.fixture(scope="module")
def display() -> str:
    """A private Xvfb for this module; its display name (":N")."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb and the Qt WebEngine libraries, "
                    "see README)")
    if find_spec("webview") is None or find_spec("PyQt6") is None:
        pytest.skip("the panel extra is not installed: pip install -e '.[panel]'")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def on_display(display: str, **extra: str) -> dict[str, str]:
    """This environment with the window on ``display`` (the Xvfb), never on Wayland."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    return {**env, "DISPLAY": display, **extra}


def drive(display: str, scenario: str, out: Path, *extra: str, lang: str = "en") -> dict:
    done = subprocess.run(
        [sys.executable, "-m", DRIVER, scenario, "--out", str(out), *extra],
        cwd=REPO, env=on_display(display, SHOP_THE_LOOK_LANG=lang), capture_output=True,
        text=True, timeout=RUN_TIMEOUT_S,
    )
    result_file = out / "result.json"
    assert result_file.is_file(), f"driver wrote nothing (rc {done.returncode}):\n{done.stderr}"
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert "failure" not in result, result.get("failure")
    page_errors = [line for line in done.stderr.splitlines()
                   if line.startswith("js:") and ("Uncaught" in line or "Refused" in line)]
    assert not page_errors, "the page logged errors or CSP refusals:\n" + "\n".join(page_errors)
    return result


def assert_png(path: Path) -> None:
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    from PIL import Image

    with Image.open(path) as image:
        assert image.size[0] >= 700 and image.size[1] >= 500
        assert len(image.convert("L").resize((64, 64)).getcolors(256)) > 20  # not a blank frame


@requires_data
def test_a_street_look_in_the_window(display, small_index_dir, tmp_path):
    result = drive(display, "look", tmp_path, "--index", str(small_index_dir))
    look, shown = result["look"], result["shown"]

    # hidden until a look arrives, then on screen
    assert result["visible_before_look"] is False
    assert result["visible_after_look"] is True

    # one box per garment and per person, one card per match, the photo itself shown
    assert len(look["items"]) >= 2 and len(look["people"]) == 1
    assert shown["garmentBoxes"] == shown["garments"] == len(look["items"])
    assert shown["personBoxes"] == len(look["people"])
    assert shown["cards"] == sum(len(i["matches"]) for i in look["items"]) > 0
    assert sorted(shown["cardsPerGarment"]) == sorted(len(i["matches"]) for i in look["items"])
    threshold = exact_threshold(IndexManifest.read(small_index_dir).embedder)
    assert shown["exact"] == sum(  # "exact match" only where the measured threshold says so
        threshold is not None and m["score"] >= threshold
        for i in look["items"] for m in i["matches"])
    assert shown["photoLoaded"] and shown["cardImages"] == shown["cards"]
    # a card tells a shopper what the product is and costs, not the raw similarity, which the
    # consensus arrangement does not keep in decreasing order down a list
    matches = [m for i in look["items"] for m in i["matches"]]
    assert len(shown["cardTexts"]) == len(matches)
    for text in shown["cardTexts"]:
        assert not re.search(r"\b[01]\.\d{2}\b", text), text
    shown_titles = " ".join(shown["cardTexts"])
    assert all(m["title"][:20] in shown_titles for m in matches)
    assert_png(tmp_path / "look.png")

    # each row is titled by what the garment is (its fine class), else by its category; a pair
    # of shoes is one row
    for number, item in enumerate(look["items"]):
        title = CLASS_TITLES.get(item.get("class") or "", CATEGORY_TITLES[item["category"]])
        assert shown["titles"][f"g{number}"] == title, item
    assert any(item.get("class") for item in look["items"]), "the look names its garments"
    footwear = [i for i in look["items"] if i["category"] == "footwear"]
    assert len(footwear) == 1 and footwear[0]["class"] == "shoes"

    # keyboard: ↓ selects the next garment and focuses its card, → the next card, Enter opens it
    keys = result["keyboard"]
    assert keys["selected"] != keys["before"] and keys["focusedGarment"] == keys["selected"]
    assert result["opened"] == [f"https://shop.example/products/{keys['focusedProduct']}"]

    # a drawn region is searched for exactly that region and shown as its own garment
    width, height = look["width"], look["height"]
    left, top, right, bottom = result["region_fractions"]
    assert len(result["region_requests"]) == 1
    assert result["region_requests"][0] == pytest.approx(  # within a screen pixel
        [left * width, top * height, right * width, bottom * height], abs=2.0)
    after = result["after_region"]
    assert after["garmentBoxes"] == shown["garmentBoxes"] + 1
    assert after["cards"] > shown["cards"]
    drawn = result["drawn_box"]
    assert drawn["title"] == "Your selection" and drawn["cards"] > 0
    assert "left: 1" in drawn["style"] and "top: 5" in drawn["style"]
    assert_png(tmp_path / "region.png")

    # "Everyone" re-runs the look without the gender filter
    assert result["gender_requests"] == ["all"]

    # a product photo: no person, still matches, and the panel says why
    product = result["product_photo"]
    assert product["notices"] == ["no_person"] and product["personBoxes"] == 0
    assert product["garments"] == 1 and product["cards"] > 0
    assert product["counter"] == "Look 2 of 2"
    assert_png(tmp_path / "product.png")


def test_an_error_state_in_greek(display, tmp_path):
    result = drive(display, "error", tmp_path, "--size", "800x600", lang="el")
    assert result["state"] == "error" and not result["stateHidden"] and result["photoHidden"]
    assert result["lang"] == "el"
    assert result["title"] == "Δεν υπάρχει ακόμη κατάλογος προϊόντων"
    assert "shop-the-look index build" in result["hint"]
    assert "/nowhere" in result["detail"]
    assert result["visible"] is True  # errors are shown, not left in a hidden window
    assert_png(tmp_path / "error.png")


@pytest.mark.parametrize(("lang", "title", "hint"), [
    ("en", "This picture is too small to find clothes in", "Try a larger photo"),
    ("el", "Η εικόνα είναι πολύ μικρή για να βρεθούν ρούχα σε αυτήν",
     "Δοκιμάστε μια μεγαλύτερη φωτογραφία")])
def test_a_picture_too_small_to_shop_says_so(display, tmp_path, lang, title, hint):
    """The companion's own answer to a 16 x 16 icon, as ``look --show`` shows it."""
    result = drive(display, "too_small", tmp_path, lang=lang)
    assert result["code"] == "image_too_small" and result["state"] == "error"
    assert result["title"] == title and result["hint"].startswith(hint)
    assert result["visible"] is True and result["photoHidden"]
    assert_png(tmp_path / "too-small.png")


@pytest.mark.parametrize(("lang", "refreshed", "shop"), [
    ("en", "The catalog was refreshed", "at north"),
    ("el", "Ο κατάλογος ανανεώθηκε", "από north")])
def test_shops_a_refreshed_catalog_and_the_kids_switch(display, tmp_path, lang, refreshed, shop):
    """A look of two shops, the first on a refreshed catalog; then the switch asks for kids'."""
    result = drive(display, "shops", tmp_path, lang=lang)
    before, after = result["before"], result["after"]
    assert before["notices"][0].startswith(refreshed), "first, above the product photo's notice"
    assert before["shops"][0] == shop and len(before["shops"]) == 2
    assert not before["ageHidden"]
    assert [checked for _, checked in before["ages"]] == ["true", "false", "false"]
    assert result["age_groups"] == ["kids"], "the switch re-ran the look for kids' products"
    assert [checked for _, checked in after["ages"]] == ["false", "true", "false"]
    assert not any(n.startswith(refreshed) for n in after["notices"]), "a re-run is no refresh"
    assert_png(tmp_path / "shops.png")


@pytest.mark.parametrize(("lang", "control"), [
    ("en", "More people (6)"), ("el", "Περισσότερα άτομα (6)")])
def test_people_in_the_background_wait_behind_more_people(display, tmp_path, lang, control):
    """A main subject with two garments and six small bystanders: two rows, one control."""
    result = drive(display, "people", tmp_path, lang=lang)
    items = result["look"]["items"]
    assert [i["background"] for i in items] == [False] * 2 + [True] * 6

    collapsed = result["collapsed"]
    assert collapsed["lang"] == lang
    assert collapsed["rows"] == 2 and collapsed["allRows"] == 8
    assert collapsed["controlVisible"] and not collapsed["expanded"]
    assert collapsed["control"].startswith(control) and collapsed["lastRowIsControl"]
    assert (collapsed["garmentBoxes"], collapsed["personBoxes"]) == (2, 1)  # her boxes only
    assert result["arrow_selected"] == collapsed["rowIds"][0]  # ↓ ↓ wraps past hidden rows
    assert collapsed["cardImages"] == collapsed["cards"] == 2 * 6 + 6 * 3
    assert_png(tmp_path / "people-collapsed.png")

    clicked = result["clicked"]  # a click shows every row and every box, hers still first
    assert clicked["rows"] == 8 and clicked["expanded"]
    assert clicked["rowIds"][:2] == collapsed["rowIds"]
    assert (clicked["garmentBoxes"], clicked["personBoxes"]) == (8, 7)
    assert_png(tmp_path / "people-expanded.png")
    assert result["closed_again"]["rows"] == 2

    # the keyboard reaches the control, and Enter opens it
    assert result["control_focused"] is True
    assert result["by_keyboard"]["rows"] == 8 and result["by_keyboard"]["expanded"]

    # a worn product photo shows the garment it was indexed by (its crop), not the whole model
    width, height = result["worn_card"]
    assert width / height == pytest.approx(260 / 370, abs=0.01)  # the crop plus its margin


OUTFIT_TEXT = {
    "en": {"titles": ["Jacket", "Top", "Skirt", "Shoes", "Bag"], "women": "Women", "men": "Men",
           "ask": "Women's or men's products?", "answered": "Products for",
           "waiting": "products once you choose Women or Men"},
    "el": {"titles": ["Μπουφάν / σακάκι", "Μπλούζα", "Φούστα", "Παπούτσια", "Τσάντα"],
           "women": "Γυναίκες", "men": "Άνδρες", "ask": "Προϊόντα για γυναίκες ή για άνδρες;",
           "answered": "Προϊόντα για", "waiting": "προϊόντα μόλις επιλέξετε"},
}


@pytest.mark.parametrize("lang", ["en", "el"])
def test_an_outfit_by_garment_name_and_women_or_men_for_an_unknown_person(display, tmp_path,
                                                                          lang):
    """A woman the look could not tell the gender of, in a jacket over a top, a skirt, a pair of
    shoes and a bag: one row each, titled by what it is; her rows wait for Women / Men."""
    words = OUTFIT_TEXT[lang]
    result = drive(display, "outfit", tmp_path, lang=lang)
    asked = result["asked"]
    assert asked["lang"] == lang
    assert asked["titles"] == words["titles"], "by fine class, the jacket above the top under it"
    assert asked["classes"] == ["jacket", "shirt", "skirt", "shoes", "bag"]
    assert asked["categories"].count("footwear") == 1, "a pair of shoes is one row"
    assert sorted(asked["boxLabels"]) == sorted(words["titles"]), "the photo's boxes say it too"

    # the question, above her rows; the rows wait for it instead of mixing both genders
    question = asked["question"]
    assert question["visible"] and question["firstInResults"] and not question["answered"]
    assert question["text"].startswith(words["ask"])
    assert question["choices"] == [["female", words["women"], "false"],
                                   ["male", words["men"], "false"]]
    assert asked["cards"] == [[]] * 5 and asked["cardImages"] == 0
    assert all(text.startswith(words["waiting"]) for text in asked["waiting"])
    assert result["answer_requests"] == ["female"], "one search, for the answer"
    assert_png(tmp_path / "outfit-asked.png")

    # "Women": the look re-runs for women and every row shows women's products
    answered = result["answered"]
    assert answered["titles"] == words["titles"]
    assert answered["question"]["answered"] and answered["question"]["text"] == words["answered"]
    assert [checked for *_, checked in answered["question"]["choices"]] == ["true", "false"]
    assert all(len(ids) == 4 and all(i.startswith("female-") for i in ids)
               for ids in answered["cards"])
    assert answered["cardImages"] == 20 and not any(answered["waiting"])
    assert_png(tmp_path / "outfit-answered.png")

    # the answer stays with the look: switching the ages re-runs it for women again
    after = result["after_switch"]
    assert result["switch_requests"] == [None, "female"]
    assert after["question"]["answered"]
    assert all(i.startswith("female-") for ids in after["cards"] for i in ids)


@requires_data
def test_serve_shows_each_look_with_its_photo(display, small_index_dir, tmp_path):
    """``serve`` with the window: the extension pairs through the window's question, posts a
    photo, and the window comes up with it."""
    result = drive(display, "serve", tmp_path, "--index", str(small_index_dir))
    look, shown = result["look"], result["shown"]
    assert result["status"] == 200
    # pairing asked in the window: the code field focused and empty (the window never shows the
    # code: the user types what the browser shows), then paired with the code typed
    dialog = result["pairing_dialog"]
    assert {k: dialog[k] for k in ("code", "origin", "focused")} == {
        "code": "", "origin": EXTENSION_ORIGIN, "focused": "pairing-code"}
    assert "123" not in dialog["text"]
    assert result["visible_while_pairing"] is True and result["dialog_hidden_after"] is True
    assert result["pairing_status"] == 200
    assert_png(tmp_path / "pairing.png")
    # a first run (nothing paired) opens the window on the pairing step, which pairing ends
    first_run = result["first_run"]
    assert result["visible_before_look"] is True and first_run["state"] == "pairing"
    assert first_run["title"] == "Connect your browser to Shop the Look"
    assert len(first_run["steps"]) == 3 and "“Pair”" in first_run["steps"][1]
    assert re.search(r"port \d+", first_run["steps"][2])
    assert_png(tmp_path / "first-run.png")
    assert result["after_pairing"]["state"] == "waiting" and not result["after_pairing"]["steps"]
    assert result["visible_after_look"] is True
    assert shown["garmentBoxes"] == len(look["items"]) > 0
    assert shown["cards"] == sum(len(i["matches"]) for i in look["items"]) > 0
    assert result["photo_size"] == [look["width"], look["height"]]  # the posted photo, in memory
    assert_png(tmp_path / "serve.png")
    # closing the window hides it (the companion keeps serving); the next look shows it again
    assert result["visible_after_close"] is False
    second = result["second"]
    assert second["status"] == 200 and second["visible"] is True
    assert second["shown"]["counter"] == "Look 2 of 2" and second["shown"]["cards"] > 0


@requires_data
def test_look_show_opens_the_window_and_stops_on_ctrl_c(display, small_index_dir):
    photo = STREET / "images" / "ccp_0003.jpg"
    process = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "look", str(photo), "--show", "--json",
         "--index", str(small_index_dir), "--top-k", "3"],
        env=on_display(display), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()  # printed just before the window shows the look
        look = json.loads(line)
        time.sleep(2.0)
        assert process.poll() is None, "the window stays open until it is closed"
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert look["image"] == str(photo) and look["items"]
