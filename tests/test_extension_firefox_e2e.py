"""The same extension folder in a real Firefox (Debian's firefox-esr), driven over Marionette.

Firefox loads the manifest's background.scripts (Chrome the service worker), grants the host
permission, and sends ``Origin: moz-extension://<uuid>`` on the extension's POSTs; this test
shows that pairing, "test connection" and a look work there too. Firefox has no way to fire a
menu click from a test, so after a real right-click the test calls the listener's function
(``STL.shopThisLook``) in the extension's background page with the ``info`` Firefox would pass.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
import uuid
from pathlib import Path

import pytest

from tests.companion_http import CountingPipeline, LiveCompanion
from tests.conftest import REPO, requires_data
from tests.marionette import Marionette, launch_firefox
from tests.photo_site import BACKGROUND_PHOTO, IMG_PHOTO, photo_site

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "/usr/bin/firefox-esr"
EXTENSION = REPO / "extension"
GECKO_ID = json.loads((EXTENSION / "manifest.json").read_text())["browser_specific_settings"][
    "gecko"]["id"]
EXTENSION_UUID = str(uuid.uuid4())  # Firefox picks a random one per profile; we fix it by pref
OPTIONS = f"moz-extension://{EXTENSION_UUID}/options/options.html"

pytestmark = [
    pytest.mark.browser,
    requires_data,
    pytest.mark.skipif(not Path(FIREFOX).is_file(),
                       reason="Firefox is not installed (apt-get install firefox-esr)"),
]

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(client: Marionette, css: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = client.script("const e = document.querySelector(arguments[0]);"
                              "return e ? e.textContent : null;", css)
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{css} did not appear")


@pytest.fixture(scope="module")
def site():
    with photo_site() as address:
        yield address


@pytest.fixture(scope="module")
def companion(pipeline, tmp_path_factory):
    live = LiveCompanion(CountingPipeline(pipeline),
                         tmp_path_factory.mktemp("config") / "pairings.json")
    yield live
    live.stop()


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


def shop_this_look(firefox, site: str, selector: str, info: dict) -> dict:
    options = firefox.call("WebDriver:GetWindowHandle")["value"]
    page = firefox.new_tab()
    firefox.switch_to(page)
    firefox.navigate(site + "/")
    firefox.script("return new Promise(r => { const done = () => "
                   "[...document.images].every(i => i.complete && i.naturalWidth > 0);"
                   "const t = setInterval(() => { if (done()) { clearInterval(t); r(); } }, 50);"
                   "});")
    firefox.right_click(selector)
    firefox.switch_to(options)
    try:
        return in_extension(firefox, """
            await browser.contextMenus.update("shop-this-look", {});  // rejects if it is missing
            const tab = (await browser.tabs.query({})).find(t => t.url === args.site + "/");
            await browser.storage.local.remove("lastResult");
            const background = await browser.runtime.getBackgroundPage();
            const info = page.JSON.parse(page.JSON.stringify(
                {menuItemId: "shop-this-look", frameId: 0, pageUrl: tab.url, ...args.info}));
            await (background.wrappedJSObject ?? background).STL.shopThisLook(info, tab);
            return (await browser.storage.local.get("lastResult")).lastResult;
        """, site=site, info=info)
    finally:
        firefox.switch_to(page)
        firefox.call("WebDriver:CloseWindow")
        firefox.switch_to(options)


def test_firefox_pairs_with_its_moz_extension_origin(paired, companion):
    assert paired["port"] == companion.port and len(paired["token"]) >= 40
    pairing = json.loads(companion.pairings_path.read_text())["pairings"][0]
    assert pairing["origin"] == f"moz-extension://{EXTENSION_UUID}"


@pytest.mark.parametrize(("selector", "photo", "media"), [
    ("#photo", IMG_PHOTO, True), ("#backdrop", BACKGROUND_PHOTO, False)],
    ids=["img", "css-background"])
def test_shop_this_look_in_firefox(paired, firefox, companion, site, selector, photo, media):
    before = len(companion.looks)
    url = f"{site}/images/{photo}"
    info = {"mediaType": "image", "srcUrl": url} if media else {}
    result = shop_this_look(firefox, site, selector, info)
    assert result["ok"] is True, result
    assert result["garments"] > 0 and result["matches"] > 0 and result["image"] == url
    assert len(companion.looks) == before + 1
    assert companion.looks[-1]["image"] == url
    assert all(item["matches"] for item in companion.looks[-1]["items"])
