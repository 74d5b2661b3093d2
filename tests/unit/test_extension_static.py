"""The extension's files, checked without a browser: manifest, locales, and web-ext lint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.data import REPO
from tests.support.extension_browser import EXTENSION, manifest, messages

LOCALES = ("en", "el")
WEB_EXT = "web-ext@10.7.0"  # pinned: lint rules change between releases
# Known and accepted: Chrome ignores background.scripts and Firefox ignores service_worker by
# design; data_collection_permissions is read by Firefox 140+ and harmless before.
ACCEPTED_WARNINGS = {"BACKGROUND_SERVICE_WORKER_IGNORED", "KEY_FIREFOX_UNSUPPORTED_BY_MIN_VERSION",
                     "KEY_FIREFOX_ANDROID_UNSUPPORTED_BY_MIN_VERSION"}
IMPORT = re.compile(r'^import\s[^;]*?"([^"]+)";', re.MULTILINE)  # the modules' static imports
MODULE_SYNTAX = re.compile(r"^\s*(import|export)\b", re.MULTILINE)


def used_message_keys() -> set[str]:
    keys = set(re.findall(r"__MSG_(\w+)__", (EXTENSION / "manifest.json").read_text()))
    for path in EXTENSION.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bt\(\s*"(\w+)"', text))
        for pair in re.findall(r'\bt\([\w.]+\s*\?\s*"(\w+)"\s*:\s*"(\w+)"', text):
            keys |= set(pair)
        keys |= set(re.findall(r":\s*\"(err\w+)\"", text))
    for path in EXTENSION.rglob("*.html"):
        keys |= set(re.findall(r'data-i18n="(\w+)"', path.read_text(encoding="utf-8")))
    return keys


def imports(module: Path) -> set[Path]:
    """The files ``module`` imports (static ``import … from "./x.js"`` statements)."""
    specifiers = IMPORT.findall(module.read_text(encoding="utf-8"))
    return {(module.parent / specifier).resolve() for specifier in specifiers}


def reachable(entry: Path) -> set[Path]:
    """``entry`` and every file its imports reach, each checked to exist."""
    seen, todo = set(), [entry.resolve()]
    while todo:
        module = todo.pop()
        assert module.is_file(), f"an import names a missing file: {module}"
        if module not in seen:
            seen.add(module)
            todo.extend(imports(module))
    return seen


def scripts_in(*folders: str) -> set[Path]:
    return {path.resolve() for folder in folders for path in (EXTENSION / folder).glob("*.js")}


def test_manifest_serves_chrome_and_firefox_from_one_folder():
    data = manifest()
    assert data["manifest_version"] == 3
    gecko = data["browser_specific_settings"]["gecko"]
    assert gecko["strict_min_version"] == "121.0"
    assert gecko["data_collection_permissions"] == {"required": ["none"]}
    assert data["default_locale"] == "en"


def test_the_background_file_list_exists_once_as_the_worker_imports():
    """Chrome's service worker and Firefox's background script are the same ES module; the
    manifest names only that entry, and its imports reach every background and utils file."""
    background = manifest()["background"]
    assert background == {"service_worker": "background/worker.js",
                          "scripts": ["background/worker.js"], "type": "module"}
    assert reachable(EXTENSION / "background" / "worker.js") == scripts_in("background", "utils")
    for path in EXTENSION.rglob("*.js"):
        assert "importScripts" not in path.read_text(encoding="utf-8"), path


def test_content_scripts_are_classic_scripts_that_import_nothing():
    """Content scripts cannot be modules: the manifest lists them, and none imports or exports."""
    (declared,) = manifest()["content_scripts"]
    listed = {(EXTENSION / name).resolve() for name in declared["js"]}
    assert listed == scripts_in("content")
    for path in listed:
        assert not MODULE_SYNTAX.search(path.read_text(encoding="utf-8")), path


def test_the_options_page_loads_one_module_whose_imports_all_exist():
    page = (EXTENSION / "options" / "options.html").read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*>", page) == ['<script type="module" src="options.js">']
    assert reachable(EXTENSION / "options" / "options.js") <= (
        scripts_in("utils") | scripts_in("options"))


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


@pytest.mark.skipif(shutil.which("npx") is None,
                    reason="npx missing: web-ext lint runs through Node.js's npx, not on PATH "
                           "(scripts/setup.sh --test installs it: apt-get install nodejs npm)")
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
