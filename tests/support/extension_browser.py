"""The extension under test and the browsers that run it, shared by its static and e2e tests:
its manifest and messages, Debian's Chromium and Firefox, and the wait both e2e tests use."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.data import REPO

EXTENSION = REPO / "extension"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "/usr/bin/firefox-esr"
SETUP = "scripts/setup.sh --test installs it"

requires_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason=f"Chromium missing: no `chromium` on PATH and no {CHROMIUM} ({SETUP}: apt-get "
           "install chromium)")
requires_firefox = pytest.mark.skipif(
    not Path(FIREFOX).is_file(),
    reason=f"Firefox missing: no `firefox-esr` or `firefox` on PATH and no {FIREFOX} ({SETUP}: "
           "apt-get install firefox-esr)")

T = TypeVar("T")


def manifest() -> dict:
    return json.loads((EXTENSION / "manifest.json").read_text(encoding="utf-8"))


def messages(lang: str) -> dict:
    return json.loads((EXTENSION / "_locales" / lang / "messages.json").read_text("utf-8"))


def message(key: str, lang: str = "en") -> str:
    """The text the user reads for ``key`` (one without placeholders)."""
    return messages(lang)[key]["message"]


def wait_until(read: Callable[[], T | None], what: str, timeout_s: float = 90.0) -> T:
    """The first truthy value of ``read()``, polled until ``timeout_s``; a failure naming
    ``what`` after that."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = read()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")


def launch_chromium(playwright, profile: Path):
    """Debian's Chromium (headless) with the extension loaded unpacked, in English."""
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        env={**os.environ, "LANGUAGE": "en_US:en"},  # the extension's UI language
        ignore_default_args=["--disable-extensions"],
        args=[f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}",
              "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-quic"],
    )


def toast(page) -> tuple[str, str] | None:
    """(kind, text) of the extension's toast in ``page``, or None.

    The toast lives in a closed shadow root that page scripts cannot read; Chromium's DevTools
    protocol pierces it, reading the text the user sees.
    """
    session = page.context.new_cdp_session(page)
    try:
        root = session.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    finally:
        session.detach()
    host = _first(root, lambda node: "data-shop-the-look" in node.get("attributes", [])[::2])
    if host is None:
        return None
    attributes = dict(zip(host["attributes"][::2], host["attributes"][1::2], strict=True))
    return attributes["data-shop-the-look"], _text(host)


def _children(node: dict) -> list[dict]:
    return node.get("children", []) + node.get("shadowRoots", [])


def _text(node: dict) -> str:
    """All text under ``node``, shadow roots included, in document order."""
    if node.get("nodeType") == 3:  # a text node
        return node["nodeValue"]
    return "".join(_text(child) for child in _children(node))


def _first(node: dict, wanted: Callable[[dict], object]) -> dict | None:
    """The first node, depth first (shadow roots included), for which ``wanted`` is true."""
    if wanted(node):
        return node
    for child in _children(node):
        found = _first(child, wanted)
        if found is not None:
            return found
    return None
