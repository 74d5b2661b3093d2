"""Drives the real panel window in its own process (pywebview allows one GUI loop per process).

    python -m tests.support.panel_driver look  --index DIR --out DIR
    python -m tests.support.panel_driver error --out DIR
    python -m tests.support.panel_driver serve --index DIR --out DIR
    python -m tests.support.panel_driver people --out DIR
    python -m tests.support.panel_driver outfit --out DIR
    python -m tests.support.panel_driver too_small --out DIR

Runs a scenario through the page (``evaluate_js``) and writes what it saw to ``OUT/result.json``
plus screenshots, for tests/e2e/test_panel_window.py to judge.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from companion.panel.controller import PanelController
from companion.panel.window import Panel
from tests.support.data import CATALOG, STREET

STREET_PHOTO = STREET / "images" / "ccp_0001.jpg"
PRODUCT_PHOTO = CATALOG / "images" / "1728.jpg"  # a shoe, no person

COUNTS = """JSON.stringify({
  garmentBoxes: document.querySelectorAll('#overlay .garment-box').length,
  personBoxes: document.querySelectorAll('#overlay .person-box').length,
  garments: document.querySelectorAll('#results .garment').length,
  cards: document.querySelectorAll('#results .card').length,
  cardsPerGarment: [...document.querySelectorAll('#results .garment')].map(
    g => g.querySelectorAll('.card').length),
  exact: document.querySelectorAll('#results .badge.exact').length,
  notices: [...document.querySelectorAll('#results .notice')].map(n => n.dataset.notice),
  photoLoaded: document.getElementById('photo').complete
    && document.getElementById('photo').naturalWidth > 0,
  cardImages: [...document.querySelectorAll('.card img')].filter(i => i.naturalWidth > 0).length,
  cardTexts: [...document.querySelectorAll('#results .card')].map(c => c.innerText),
  titles: Object.fromEntries([...document.querySelectorAll('#results .garment')].map(
    g => [g.dataset.garment, g.querySelector('.garment-title').textContent])),
  state: document.getElementById('main').dataset.state,
  counter: document.getElementById('looks').hidden ? ''
    : document.getElementById('look-counter').textContent,
  busy: window.panel.state().busy,
})"""


DRAG = """(() => {
  const [left, top, right, bottom] = [%s, %s, %s, %s];
  const stage = document.getElementById('stage');
  const rect = document.getElementById('overlay').getBoundingClientRect();
  const at = (type, x, y) => stage.dispatchEvent(new PointerEvent(type, {
    bubbles: true, button: 0, pointerId: 7, isPrimary: true,
    clientX: rect.left + x * rect.width, clientY: rect.top + y * rect.height}));
  at('pointerdown', left, top);
  at('pointermove', (left + right) / 2, (top + bottom) / 2);
  at('pointermove', right, bottom);
  at('pointerup', right, bottom);
  return 0;
})()"""


STATE = """JSON.stringify({
  state: document.getElementById('main').dataset.state,
  title: document.getElementById('state-title').textContent,
  steps: [...document.querySelectorAll('#state-steps li')].map(li => li.textContent)})"""


PAINTED = """(() => {
  window.driverPainted = false;
  requestAnimationFrame(() => requestAnimationFrame(() => { window.driverPainted = true; }));
  return 0;
})()"""
POLL_S = 0.05


def wait_until(condition: Callable[[], object], timeout: float = 30.0) -> bool:
    """Poll ``condition`` until it holds; False when ``timeout`` passes first. Never a fixed
    sleep: a wait lasts as long as the thing waited for, and its deadline only bounds a failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL_S)
    return False


def wait_for(panel: Panel, condition: str, timeout: float = 30.0) -> bool:
    """Wait until the JavaScript ``condition`` holds in the page."""
    return wait_until(lambda: panel.evaluate(f"Boolean({condition})"), timeout)


def screenshot(panel: Panel, path: Path) -> None:
    """Save the window once it shows the last DOM change: the page has painted it (two animation
    frames later) and the compositor has it (two grabs in a row agree; grab() returns the last
    composited frame)."""
    panel.evaluate(PAINTED)
    wait_for(panel, "window.driverPainted", 10)
    previous: list[bytes] = []

    def settled() -> bool:
        panel.screenshot(path)
        previous.append(path.read_bytes())
        return len(previous) > 1 and previous[-1] == previous[-2]

    wait_until(settled, 10)


def counts(panel: Panel) -> dict:
    return json.loads(panel.evaluate(COUNTS))


def look_scenario(panel: Panel, pipeline, out: Path, opened: list[str]) -> dict:
    from companion.pipeline.look import LookRequest
    from companion.pipeline.look_output import look_to_json

    result: dict = {}
    requests = []
    search = panel.controller.search
    panel.controller.search = lambda data, request: (requests.append(request), search(
        data, request))[1]

    panel.wait_ready()
    result["visible_before_look"] = panel.visible()
    data = STREET_PHOTO.read_bytes()
    look = look_to_json(pipeline.run(data, str(STREET_PHOTO), LookRequest(top_k=6)))
    result["look"] = look
    panel.show_look(look, data)
    result["visible_after_look"] = panel.visible()
    wait_for(panel, "document.getElementById('photo').naturalWidth > 0")
    wait_for(panel, "[...document.querySelectorAll('.card img')].every(i => i.complete)")
    result["shown"] = counts(panel)
    screenshot(panel, out / "look.png")

    # keyboard: ↓ moves to the next garment and focuses its first card; Enter opens it
    before = panel.evaluate("window.panel.state().selected")
    panel.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowDown'}))")
    panel.evaluate("document.activeElement.dispatchEvent(new KeyboardEvent('keydown', "
                   "{key: 'ArrowRight', bubbles: true}))")
    result["keyboard"] = json.loads(panel.evaluate("""JSON.stringify({
        selected: window.panel.state().selected,
        focusedProduct: document.activeElement.dataset.product || null,
        focusedGarment: document.activeElement.closest('.garment')?.dataset.garment || null})"""))
    result["keyboard"]["before"] = before
    panel.evaluate("document.activeElement.dispatchEvent(new KeyboardEvent('keydown', "
                   "{key: 'Enter', bubbles: true}))")
    wait_for(panel, "!window.panel.state().busy", 10)
    wait_until(lambda: opened, 10)  # the page asks the core to open it, in another thread
    result["opened"] = list(opened)

    # a drawn region: drag across the photo with (synthetic) pointer events
    box = (0.15, 0.55, 0.85, 0.95)
    panel.evaluate(DRAG % box)
    wait_for(panel, "document.querySelectorAll('#overlay .garment-box').length > "
             f"{result['shown']['garmentBoxes']} && !window.panel.state().busy", 60)
    result["region_fractions"] = box
    result["region_requests"] = [list(r.region) for r in requests if r.region is not None]
    result["after_region"] = counts(panel)
    result["drawn_box"] = json.loads(panel.evaluate("""JSON.stringify((() => {
        const id = window.panel.state().selected;
        const box = document.querySelector(`#overlay .garment-box[data-garment="${id}"]`);
        const section = document.querySelector(`#results .garment[data-garment="${id}"]`);
        return {style: box && box.getAttribute('style'),
                cards: section ? section.querySelectorAll('.card').length : 0,
                title: section ? section.querySelector('.garment-title').textContent : ''};
    })())"""))
    screenshot(panel, out / "region.png")

    # gender: "Everyone" re-runs the look for all genders
    panel.evaluate("document.querySelector('.filter [data-gender=all]').click(); 0")
    wait_for(panel, "document.querySelector('.filter [data-gender=all]')"
             ".getAttribute('aria-checked') === 'true' && !window.panel.state().busy", 60)
    result["gender_requests"] = [r.gender for r in requests if r.region is None]

    # a product photo (no person): still matches, and says so; the switcher counts two looks
    product = PRODUCT_PHOTO.read_bytes()
    panel.show_look(look_to_json(pipeline.run(product, str(PRODUCT_PHOTO))), product)
    wait_for(panel, "document.getElementById('photo').naturalWidth > 0")
    result["product_photo"] = counts(panel)
    screenshot(panel, out / "product.png")
    return result


def serve_scenario(index: Path, out: Path) -> None:
    """``serve`` with the window: a paired client posts a photo; the panel must show it."""
    from companion.panel.serve import run_with_server
    from companion.server.config import ServerConfig
    from companion.server.confirm import ask_in_terminal
    from tests.support.companion_http import EXTENSION_ORIGIN, authorised, request

    def call(port: int, path: str, body: bytes, headers: dict) -> tuple[int, dict, dict]:
        answer = request(port, "POST", path, body, headers)
        return answer.status, answer.json, dict(answer.headers)

    def ready(panel: Panel, port: int) -> None:
        result: dict = {}
        try:
            panel.wait_ready()
            result["visible_before_look"] = panel.visible()
            # nothing paired yet (a first run): the window is up on the pairing step
            result["first_run"] = json.loads(panel.evaluate(STATE))
            screenshot(panel, out / "first-run.png")

            # pairing is asked in the window: the request waits until the user answers there
            answers: list = []
            asking = threading.Thread(target=lambda: answers.append(call(
                port, "/v1/pair", b'{"code": "123456"}',
                {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})))
            asking.start()
            wait_for(panel, "!document.getElementById('pairing').hidden", 30)
            result["pairing_dialog"] = json.loads(panel.evaluate("""JSON.stringify({
                text: document.getElementById('pairing').innerText,
                code: document.getElementById('pairing-code').value,
                origin: document.getElementById('pairing-origin').textContent,
                focused: document.activeElement.id})"""))
            result["visible_while_pairing"] = panel.visible()
            screenshot(panel, out / "pairing.png")
            # the user types the code the browser shows (the window never shows it), then Pair
            panel.evaluate("document.getElementById('pairing-code').value = '123 456'; "
                           "document.getElementById('pairing-approve').click(); 0")
            asking.join(30)
            status, paired, _ = answers[0]
            result["pairing_status"] = status
            result["dialog_hidden_after"] = panel.evaluate(
                "document.getElementById('pairing').hidden")
            wait_for(panel, "document.getElementById('main').dataset.state !== 'pairing'", 10)
            result["after_pairing"] = json.loads(panel.evaluate(STATE))
            assert status == 200, paired
            data = STREET_PHOTO.read_bytes()
            status, look, headers = call(port, "/v1/looks?top_k=4", data, authorised(
                paired["token"], **{"Content-Type": "image/jpeg"}))
            result.update(status=status, look=look, headers=headers)
            wait_for(panel, "document.getElementById('photo').naturalWidth > 0")
            wait_for(panel, "[...document.querySelectorAll('.card img')].every(i => i.complete)")
            result["shown"] = counts(panel)
            result["photo_size"] = json.loads(panel.evaluate(
                "JSON.stringify([document.getElementById('photo').naturalWidth, "
                "document.getElementById('photo').naturalHeight])"))
            result["visible_after_look"] = panel.visible()
            screenshot(panel, out / "serve.png")

            # the user closes the window: it only hides; the next look brings it back
            native = panel.window.native
            panel._gui_calls.run(native.close, wait=True)
            wait_until(lambda: not panel.visible(), 10)
            result["visible_after_close"] = panel.visible()
            second = STREET_PHOTO.with_name("ccp_0004.jpg").read_bytes()
            status, _, _ = call(port, "/v1/looks?top_k=2", second, authorised(
                paired["token"], **{"Content-Type": "image/jpeg"}))
            wait_for(panel, "document.getElementById('look-counter').textContent.includes('2')")
            result["second"] = {"status": status, "visible": panel.visible(),
                                "shown": counts(panel)}
        except Exception:
            result["failure"] = traceback.format_exc()
        (out / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        panel.close()

    config = ServerConfig(port=0, index_dir=index, pairings_path=out / "pairings.json",
                          confirm=ask_in_terminal)  # as `serve` does; the panel asks instead
    run_with_server(config, ready=ready)


CATALOG_MISSING = ("catalog_missing", "No catalog index at /nowhere. Build one with "
                   "`shop-the-look index build FEED --out DIR`.")


def too_small() -> tuple[str, str]:
    """The companion's own error for a 16 x 16 picture (an icon): (code, message)."""
    import io

    from PIL import Image

    from companion.errors import LookError
    from companion.pipeline.decode import decode_image

    icon = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 40, 40)).save(icon, "PNG")
    try:
        decode_image(icon.getvalue())
    except LookError as exc:
        return exc.code, exc.message
    return "none", "a 16 x 16 picture was decoded without an error"


def error_scenario(panel: Panel, out: Path, error: tuple[str, str] = CATALOG_MISSING,
                   name: str = "error") -> dict:
    panel.wait_ready()
    panel.show_error(*error)
    wait_for(panel, "document.getElementById('main').dataset.state === 'error'", 10)
    result = json.loads(panel.evaluate("""JSON.stringify({
        state: document.getElementById('main').dataset.state,
        stateHidden: document.getElementById('state').hidden,
        photoHidden: document.getElementById('photo-pane').hidden,
        title: document.getElementById('state-title').textContent,
        hint: document.getElementById('state-hint').textContent,
        detail: document.getElementById('state-detail').textContent,
        lang: document.documentElement.lang})"""))
    result["visible"] = panel.visible()
    result["code"] = error[0]
    screenshot(panel, out / f"{name}.png")
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["look", "error", "serve", "people", "shops", "outfit",
                                             "too_small"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--size", default="1180x780")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    opened: list[str] = []
    if args.scenario == "serve":
        serve_scenario(args.index, args.out)
        return 0
    if args.scenario == "look":
        from companion.catalog.index import CatalogIndex
        from companion.inference.store import ModelStore
        from companion.pipeline.look import LookPipeline

        pipeline = LookPipeline(ModelStore(), CatalogIndex(args.index))
        panel = Panel.for_pipeline(pipeline, top_k=6, size=size, open_url=opened.append)
        scenario = lambda: look_scenario(panel, pipeline, args.out, opened)  # noqa: E731
    elif args.scenario == "people":
        from companion.panel.images import catalog_image_source
        from tests.support.panel_people import crowd_look, people_scenario

        look, products = crowd_look(args.out / "catalog")
        source = catalog_image_source(lambda pid: {"image_path": products.get(pid, "")})
        panel = Panel(PanelController(image_source=source), size=size)
        scenario = lambda: people_scenario(panel, look, args.out)  # noqa: E731
    elif args.scenario == "shops":
        from tests.support.panel_shops import Recorder, shops_scenario

        recorder = Recorder()
        panel = Panel(PanelController(recorder), size=size)
        scenario = lambda: shops_scenario(panel, recorder, args.out)  # noqa: E731
    elif args.scenario == "outfit":
        from companion.panel.images import catalog_image_source
        from tests.support.panel_outfit import OutfitSearch, outfit_scenario

        search = OutfitSearch(args.out / "catalog")
        source = catalog_image_source(lambda pid: {"image_path": search.products.get(pid, "")})
        panel = Panel(PanelController(search, image_source=source), size=size)
        scenario = lambda: outfit_scenario(panel, search, args.out)  # noqa: E731
    elif args.scenario == "too_small":
        panel = Panel(PanelController(), size=size)
        scenario = lambda: error_scenario(panel, args.out, too_small(), "too-small")  # noqa: E731
    else:
        panel = Panel(PanelController(), size=size)
        scenario = lambda: error_scenario(panel, args.out)  # noqa: E731

    def work() -> None:
        try:
            result = scenario()
        except Exception:
            result = {"failure": traceback.format_exc()}
        (args.out / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        panel.close()

    started = time.monotonic()
    panel.run_with_worker(work)
    print(f"panel driver: {args.scenario} done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
