"""The same extension folder in a real Firefox (Debian's firefox-esr), driven over Marionette.

Firefox loads the manifest's background script (the same ES module Chrome runs as its service
worker), grants the host permission, and sends ``Origin: moz-extension://<uuid>`` on the
extension's POSTs; this test shows that pairing, "test connection" and a look work there too.
Headless Firefox opens its real context menu on a right-click, so the test chooses "Shop this
look" there, and Firefox itself tells the extension what was clicked.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.companion_http import free_port
from tests.support.data import requires_data
from tests.support.extension_browser import (
    EXTENSION,
    FIREFOX,
    manifest,
    message,
    requires_firefox,
    wait_until,
)
from tests.support.marionette import Marionette, launch_firefox
from tests.support.photo_site import BACKGROUND_PHOTO, IMG_PHOTO

GECKO_ID = manifest()["browser_specific_settings"]["gecko"]["id"]
EXTENSION_UUID = str(uuid.uuid4())  # Firefox picks a random one per profile; we fix it by pref
OPTIONS = f"moz-extension://{EXTENSION_UUID}/options/options.html"

pytestmark = [pytest.mark.browser, requires_data, requires_firefox]

# Runs in the options page (an extension page): the WebExtension API of the page itself,
# reached through Marionette's sandbox; objects cross over as JSON.
IN_EXTENSION = """
const page = window.wrappedJSObject ?? window;  // an xray in a sandbox, else the page
const browser = page.browser;
const args = page.JSON.parse(arguments[0]);
return (async () => {
  try {
    const value = await (async () => { %s })();
    return page.JSON.stringify({ok: true, value});
  } catch (error) {
    return page.JSON.stringify({ok: false, error: String(error)});
  }
})();
"""


def in_extension(client: Marionette, body: str, **args):
    answer = json.loads(client.script(IN_EXTENSION % body, json.dumps(args)))
    assert answer["ok"], answer["error"]
    return answer.get("value")


def wait_for(client: Marionette, css: str, timeout_s: float = 30.0) -> None:
    wait_until(lambda: client.script("return document.querySelector(arguments[0]) !== null;", css),
               f"{css} appearing", timeout_s)


@pytest.fixture(scope="module")
def firefox(tmp_path_factory):
    port = free_port()
    process = launch_firefox(FIREFOX, tmp_path_factory.mktemp("firefox"), port, {
        "extensions.webextensions.uuids": json.dumps({GECKO_ID: EXTENSION_UUID}),
    })
    try:
        client = Marionette.connect(port)
        client.new_session()
        assert client.install_addon(EXTENSION) == GECKO_ID
        yield client
        client.close()
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture(scope="module")
def paired(firefox, companion):
    firefox.open_trusted(OPTIONS)
    in_extension(firefox, "await browser.storage.local.set({port: args.port});",
                 port=companion.port)
    firefox.open_trusted(OPTIONS)
    firefox.click("#pair")
    wait_for(firefox, "#pairing-result.ok")
    firefox.click("#test")
    wait_for(firefox, "#test-result.ok")
    return in_extension(firefox, "return await browser.storage.local.get(['token', 'port']);")


def shop_this_look(firefox, site: str, selector: str) -> dict:
    """Right-click ``selector`` in a new tab, choose "Shop this look" in Firefox's menu, and
    wait for the outcome the extension records."""
    options = firefox.call("WebDriver:GetWindowHandle")["value"]
    in_extension(firefox, 'await browser.storage.local.remove("lastResult");')
    page = firefox.new_tab()
    firefox.switch_to(page)
    try:
        firefox.navigate(site + "/")
        wait_until(lambda: firefox.script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0);"),
            "the page's photos loading", timeout_s=10)
        firefox.right_click(selector)
        firefox.choose_from_context_menu(message("menuShopThisLook"))
        firefox.switch_to(options)
        return wait_until(lambda: in_extension(
            firefox, 'return (await browser.storage.local.get("lastResult")).lastResult ?? null;'),
            "the extension's outcome of a look")
    finally:
        firefox.switch_to(page)
        firefox.call("WebDriver:CloseWindow")
        firefox.switch_to(options)


def test_firefox_pairs_with_its_moz_extension_origin(paired, companion):
    assert paired["port"] == companion.port and len(paired["token"]) >= 40
    pairing = json.loads(companion.pairings_path.read_text())["pairings"][0]
    assert pairing["origin"] == f"moz-extension://{EXTENSION_UUID}"


@pytest.mark.parametrize(("selector", "photo"), [
    ("#photo", IMG_PHOTO), ("#backdrop", BACKGROUND_PHOTO)], ids=["img", "css-background"])
def test_shop_this_look_in_firefox(paired, firefox, companion, site, selector, photo):
    before = len(companion.looks)
    url = f"{site}/images/{photo}"
    result = shop_this_look(firefox, site, selector)
    assert result["ok"] is True, result
    assert result["garments"] > 0 and result["matches"] > 0 and result["image"] == url
    assert len(companion.looks) == before + 1
    assert companion.looks[-1]["image"] == url
    assert all(item["matches"] for item in companion.looks[-1]["items"])
