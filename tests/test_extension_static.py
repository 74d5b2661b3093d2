"""The extension's files, checked without a browser: manifest, locales, and web-ext lint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO

EXTENSION = REPO / "extension"
LOCALES = ("en", "el")
WEB_EXT = "web-ext@10.7.0"  # pinned: lint rules change between releases
# Known and accepted: Chrome ignores background.scripts and Firefox ignores service_worker by
# design; data_collection_permissions is read by Firefox 140+ and harmless before.
ACCEPTED_WARNINGS = {"BACKGROUND_SERVICE_WORKER_IGNORED", "KEY_FIREFOX_UNSUPPORTED_BY_MIN_VERSION",
                     "KEY_FIREFOX_ANDROID_UNSUPPORTED_BY_MIN_VERSION"}


def manifest() -> dict:
    return json.loads((EXTENSION / "manifest.json").read_text(encoding="utf-8"))


def messages(lang: str) -> dict:
    return json.loads((EXTENSION / "_locales" / lang / "messages.json").read_text("utf-8"))


def used_message_keys() -> set[str]:
    keys = set(re.findall(r"__MSG_(\w+)__", (EXTENSION / "manifest.json").read_text()))
    for path in EXTENSION.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"STL\.t\(\"(\w+)\"", text))
        keys |= set(re.findall(r":\s*\"(err\w+)\"", text))
    for path in EXTENSION.rglob("*.html"):
        keys |= set(re.findall(r'data-i18n="(\w+)"', path.read_text(encoding="utf-8")))
    return keys


def test_manifest_serves_chrome_and_firefox_from_one_folder():
    data = manifest()
    assert data["manifest_version"] == 3
    background = data["background"]
    assert background["service_worker"] == "background/worker.js"
    assert background["scripts"][-1] == "background/worker.js"
    for script in background["scripts"]:
        assert (EXTENSION / script).is_file(), script
    gecko = data["browser_specific_settings"]["gecko"]
    assert gecko["strict_min_version"] == "121.0"
    assert gecko["data_collection_permissions"] == {"required": ["none"]}
    assert data["default_locale"] == "en"
    worker = (EXTENSION / "background" / "worker.js").read_text()
    for script in background["scripts"][:-1]:  # Chrome's importScripts loads the same files
        assert f'"/{script}"' in worker, script


def test_the_menu_covers_images_and_css_backgrounds():
    menu = (EXTENSION / "background" / "menu.js").read_text()
    assert 'contexts: ["image", "page"]' in menu
    assert menu.index("removeAll") < menu.index("create("), "menus are created idempotently"


@pytest.mark.parametrize("lang", LOCALES)
def test_every_user_facing_text_is_translated(lang):
    defined = messages(lang)
    assert used_message_keys() <= set(defined), used_message_keys() - set(defined)
    assert set(defined) == set(messages("en")), "the same keys in every language"
    for key, entry in defined.items():
        placeholders = set(re.findall(r"\$(\w+)\$", entry["message"]))
        assert {p.lower() for p in placeholders} == set(entry.get("placeholders", {})), key


def test_greek_is_really_greek():
    english, greek = messages("en"), messages("el")
    brand = {"extName", "extShortName"}
    for key in set(english) - brand:
        assert greek[key]["message"] != english[key]["message"], key
        assert re.search("[\u0370-\u03ff]", greek[key]["message"]), key


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (Node.js) is not installed")
def test_web_ext_lint_passes_for_firefox():
    result = subprocess.run(
        ["npx", "--yes", WEB_EXT, "lint", "--source-dir", str(EXTENSION), "--output", "json"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert "{" in result.stdout, f"web-ext gave no report: {result.stderr[-2000:]}"
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert report["summary"]["errors"] == 0, report["errors"]
    assert {w["code"] for w in report["warnings"]} <= ACCEPTED_WARNINGS, report["warnings"]
    assert result.returncode == 0, result.stderr
