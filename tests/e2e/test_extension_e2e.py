"""The real extension in Debian's Chromium, talking to a live companion on loopback.

A local test page shows street photos as an <img>, as a CSS background and as a blob: image.
For each, the test right-clicks it for real (the content script sees a trusted contextmenu
event) and then fires the extension's "Shop this look" handler the way Chrome does when the
menu item is chosen (headless Chromium cannot click native menus). It passes only if the
extension fetched the right image, the companion found garments and matches, and the
extension told the user. When the companion is not running, or the browser is not paired with
it, the page says so in the words of the extension's _locales. A page of an ordinary web site
cannot read the companion's answers.
"""

from __future__ import annotations

import json
import sys
import threading

import pytest

from companion.server.config import ServerConfig
from companion.server.confirm import approve_for_tests
from companion.server.runner import ServerThread
from tests.support.companion_http import EXTENSION_ID, EXTENSION_ORIGIN, free_port, request
from tests.support.data import requires_data
from tests.support.extension_browser import (
    launch_chromium,
    message,
    requires_chromium,
    toast,
    wait_until,
)
from tests.support.photo_site import BACKGROUND_PHOTO, IMG_PHOTO

pytestmark = [pytest.mark.browser, requires_data, requires_chromium]
playwright_api = pytest.importorskip(
    "playwright.sync_api",
    reason=f"playwright missing: the Python package is not installed in {sys.executable} "
           "(scripts/setup.sh --test installs it with the dev extra; it drives Debian's chromium, "
           "so never run `playwright install`)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with playwright_api.sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path_factory.mktemp("profile"))
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def worker(browser):
    workers = [w for w in browser.service_workers if EXTENSION_ID in w.url]
    sw = workers[0] if workers else browser.wait_for_event(
        "serviceworker", predicate=lambda w: EXTENSION_ID in w.url, timeout=20_000)
    assert sw.url.split("/")[2] == EXTENSION_ID, "the manifest key fixes the extension id"
    return sw


@pytest.fixture(scope="module")
def paired(browser, worker, companion):
    """Pairs the way a user does: the options page's Pair button (approved by the test-only
    confirm), then "Test connection"."""
    worker.evaluate("port => chrome.storage.local.set({port})", companion.port)
    options = browser.new_page()
    options.goto(f"chrome-extension://{EXTENSION_ID}/options/options.html")
    options.click("#pair")
    options.wait_for_selector("#pairing-result.ok", timeout=30_000)
    options.click("#test")
    options.wait_for_selector("#test-result.ok", timeout=10_000)
    stored = worker.evaluate("chrome.storage.local.get(['token', 'port'])")
    options.close()
    return stored


@pytest.fixture()
def page(browser, site):
    tab = browser.new_page()
    tab.goto(site + "/")
    tab.wait_for_function(
        "[...document.images].every(i => i.complete && i.naturalWidth > 0)", timeout=10_000)
    yield tab
    tab.close()


def shop_this_look(worker, page, selector: str, info: dict) -> dict:
    """Right-click ``selector`` for real, choose "Shop this look" as Chrome would, and wait for
    the outcome the extension records."""
    choose_shop_this_look(worker, page, selector, info)
    return outcome(worker)


def choose_shop_this_look(worker, page, selector: str, info: dict) -> None:
    """Right-click ``selector`` for real and choose "Shop this look" as Chrome would."""
    worker.evaluate("chrome.storage.local.remove('lastResult')")
    page.click(selector, button="right")
    worker.evaluate(
        """async ([info, pageUrl]) => {
            await chrome.contextMenus.update("shop-this-look", {});  // rejects if it is missing
            const [tab] = await chrome.tabs.query({url: pageUrl});
            chrome.contextMenus.onClicked.dispatch(
                {menuItemId: "shop-this-look", editable: false, frameId: 0, pageUrl, ...info},
                tab);
        }""",
        [info, page.url],
    )


def outcome(worker) -> dict:
    """The outcome of the last look, as the extension records it (waited for)."""
    return wait_until(
        lambda: worker.evaluate("chrome.storage.local.get('lastResult')").get("lastResult"),
        "the extension's outcome of a look")


def shop_the_img(worker, page, site: str) -> dict:
    """"Shop this look" on the page's <img>, with the ``info`` Chrome passes for an image."""
    url = f"{site}/images/{IMG_PHOTO}"
    return shop_this_look(worker, page, "#photo", {"mediaType": "image", "srcUrl": url})


@pytest.fixture()
def stored(worker):
    """Sets the port and token the extension holds (``stored(port=…)`` forgets the token);
    puts back what was there before."""
    keys = ["port", "token", "pairedAt"]
    before = worker.evaluate("keys => chrome.storage.local.get(keys)", keys)

    def store(**values) -> None:
        worker.evaluate("""async ([keys, values]) => {
            await chrome.storage.local.remove(keys);
            await chrome.storage.local.set(values);
        }""", [keys, values])

    yield store
    store(**before)


def what_the_page_says(page) -> tuple[str, str]:
    """The extension's error toast in ``page``: (kind, text)."""
    page.wait_for_selector("[data-shop-the-look=error]", state="attached", timeout=10_000)
    return toast(page)


def assert_looked_at(result: dict, companion, url: str, looks_before: int) -> None:
    assert result["ok"] is True, result
    assert result["garments"] > 0 and result["matches"] > 0
    assert result["inPanel"] is True, "the companion's on_look hook (the panel) got it"
    assert result["image"] == url
    assert len(companion.looks) == looks_before + 1
    look = companion.looks[-1]
    assert look["image"] == url, "the companion looked at the image that was clicked"
    assert look["people"], "a street photo has a person"
    assert look["items"] and all(item["matches"] for item in look["items"])


def test_the_extension_pairs_through_its_options_page(paired, companion):
    assert paired["port"] == companion.port
    assert len(paired["token"]) >= 40
    pairing = json.loads(companion.pairings_path.read_text())["pairings"][0]
    assert pairing["origin"] == f"chrome-extension://{EXTENSION_ID}"
    assert paired["token"] not in companion.pairings_path.read_text()


def test_shop_this_look_on_an_img(paired, worker, page, companion, site):
    before = len(companion.looks)
    result = shop_the_img(worker, page, site)
    assert_looked_at(result, companion, f"{site}/images/{IMG_PHOTO}", before)
    page.wait_for_selector("[data-shop-the-look=success]", state="attached", timeout=5_000)


def test_shop_this_look_on_a_css_background_image(paired, worker, page, companion, site):
    before = len(companion.looks)
    result = shop_this_look(worker, page, "#backdrop", {})  # a page context: no srcUrl
    assert_looked_at(result, companion, f"{site}/images/{BACKGROUND_PHOTO}", before)


def test_shop_this_look_on_a_blob_image_reads_it_through_the_page(paired, worker, page,
                                                                   companion):
    before = len(companion.looks)
    blob_url = page.eval_on_selector("#blobbed", "img => img.src")
    assert blob_url.startswith("blob:")
    result = shop_this_look(worker, page, "#blobbed", {"mediaType": "image", "srcUrl": blob_url})
    assert result["ok"] is True, result
    assert len(companion.looks) == before + 1
    assert companion.looks[-1]["items"], "the blob's bytes reached the companion"
    assert companion.looks[-1]["image"] == page.url, "a blob: URL is not an address: the page is"


def test_a_right_click_on_no_image_tells_the_user(paired, worker, page, companion):
    before = len(companion.looks)
    result = shop_this_look(worker, page, "#blank", {})
    assert result == {"ok": False, "code": "no_image", "at": result["at"]}
    assert len(companion.looks) == before
    assert what_the_page_says(page) == ("error", message("errNoImage"))


def test_a_picture_too_small_to_shop_tells_the_user_so(paired, worker, page, companion, site):
    """A 16 x 16 icon: the companion refuses it (image_too_small) and shows no look."""
    before = len(companion.looks)
    result = shop_this_look(worker, page, "#icon",
                            {"mediaType": "image", "srcUrl": f"{site}/icon.png"})
    assert result == {"ok": False, "code": "image_too_small", "at": result["at"]}
    assert len(companion.looks) == before
    assert what_the_page_says(page) == ("error", message("errImageTooSmall"))


def test_with_no_companion_on_the_port_the_page_says_to_start_it(worker, page, site, stored):
    stored(port=free_port(), token="a token from an earlier pairing")
    result = shop_the_img(worker, page, site)
    assert result["code"] == "companion_not_running"
    assert what_the_page_says(page) == ("error", message("errNotRunning"))
    assert "shop-the-look serve" in message("errNotRunning")


def test_with_no_token_the_page_says_to_pair_and_the_companion_runs_nothing(
        worker, page, site, stored, companion, counting):
    stored(port=companion.port)
    runs = counting.runs
    result = shop_the_img(worker, page, site)
    assert result["code"] == "not_paired"
    assert what_the_page_says(page) == ("error", message("errNotPaired"))
    assert counting.runs == runs


def test_a_token_the_companion_does_not_know_makes_the_page_say_to_pair(
        paired, worker, page, site, stored, companion, counting):
    """The companion knows this browser's origin (``paired``) but not this token."""
    stored(port=companion.port, token="A" * 43)
    runs = counting.runs
    result = shop_the_img(worker, page, site)
    assert result["code"] == "auth_invalid", "the companion refused the token"
    assert what_the_page_says(page) == ("error", message("errNotPaired"))
    assert counting.runs == runs


def test_an_ordinary_web_page_cannot_read_the_companion(page, companion, paired):
    """Same machine, another origin: the browser gives the page nothing to read."""
    outcomes = page.evaluate(
        """async ([port, token]) => {
            const attempt = async (path, init) => {
                try {
                    const r = await fetch(`http://127.0.0.1:${port}${path}`, init);
                    return `read ${r.status}: ${await r.text()}`;
                } catch (error) {
                    return "blocked";
                }
            };
            return [
                await attempt("/v1/ping", {}),
                await attempt("/v1/session", {method: "POST",
                                               headers: {Authorization: `Bearer ${token}`}}),
                await attempt("/v1/looks", {method: "POST", body: "x"}),
                await attempt("/v1/pair", {method: "POST", body: '{"code": "123456"}'}),
            ];
        }""",
        [companion.port, paired["token"]],
    )
    assert outcomes == ["blocked"] * 4


class SlowStart:
    """The real pipeline, behind a start-up that lasts until the test says ``go``: the models of
    a companion just launched are still loading."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.go = threading.Event()

    def current(self):
        self.go.wait(60)
        return self.pipeline

    def run(self, data: bytes, source: str = "", request=None):
        return self.pipeline.run(data, source=source, request=request)


def test_a_look_while_the_companion_starts_says_starting_then_succeeds(
        worker, page, site, stored, pipeline, tmp_path):
    slow = SlowStart(pipeline)
    config = ServerConfig(port=0, pairings_path=tmp_path / "pairings.json",
                          confirm=approve_for_tests, pipeline=slow)
    server = ServerThread(config, warm_up=True)  # as serve does: the models load at start
    port = server.start()
    try:
        token = request(port, "POST", "/v1/pair", b'{"code": "135790"}', {
            "Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"}).json["token"]
        stored(port=port, token=token)
        assert request(port, "GET", "/v1/ping").json["ready"] is False
        choose_shop_this_look(worker, page, "#photo",
                              {"mediaType": "image", "srcUrl": f"{site}/images/{IMG_PHOTO}"})
        page.wait_for_selector("[data-shop-the-look=progress]", state="attached", timeout=10_000)
        assert toast(page) == ("progress", message("lookStarting"))
        slow.go.set()
        result = outcome(worker)
        assert result["ok"] is True and result["garments"] > 0, result
        assert request(port, "GET", "/v1/ping").json["ready"] is True
    finally:
        slow.go.set()
        server.stop()


def test_forget_pairing_unpairs_in_the_companion_too(browser, worker, paired, companion):
    """Last: it leaves the browser unpaired."""
    options = browser.new_page()
    options.goto(f"chrome-extension://{EXTENSION_ID}/options/options.html")
    options.click("#unpair")
    options.wait_for_selector("#unpair[hidden]", state="attached")  # hidden once unpaired
    options.close()
    assert "token" not in worker.evaluate("chrome.storage.local.get('token')")
    assert json.loads(companion.pairings_path.read_text())["pairings"] == []
