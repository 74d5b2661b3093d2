"""Two brands' extensions come from the one extension/ tree and differ only in what makes the
brand: the name (in every locale's messages), the icons, the colours and the port (utils/brand.js),
the Firefox id and Chrome's development key. The store zip has no key; the zips are repeatable."""

from __future__ import annotations

import filecmp
import json
import zipfile
from pathlib import Path

import pytest

from packager.brand import load_brand
from packager.extension import build_extension
from tests.support.data import REPO, requires_data

pytestmark = requires_data  # the brands' catalogs are the shared data's feed
BRANDING_FILES = {"utils/brand.js", "manifest.json", "icons/icon-16.png", "icons/icon-32.png",
                  "icons/icon-48.png", "icons/icon-128.png", "_locales/en/messages.json",
                  "_locales/el/messages.json"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, tuple[Path, dict[str, Path]]]:
    """Both brands' extensions: {brand: (unpacked development build, {kind: zip})}."""
    root = tmp_path_factory.mktemp("extensions")
    made = {}
    for name in ("default", "northwind"):
        brand = load_brand(REPO / "brands" / name)
        stage = root / name / "stage"
        made[name] = (stage, build_extension(brand, "0.1.0", stage, root / name / "zips"))
    return made


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_the_two_builds_differ_only_in_the_branded_files(built):
    default, northwind = built["default"][0], built["northwind"][0]
    assert files(default) == files(northwind) == files(REPO / "extension") - {
        p for p in files(REPO / "extension") if p.startswith(("web-ext-artifacts/", "node_"))}
    differ = {p for p in files(default) if not filecmp.cmp(default / p, northwind / p, False)}
    assert differ == BRANDING_FILES


def test_the_manifests_differ_in_the_ids_alone(built):
    default, northwind = (json.loads((built[n][0] / "manifest.json").read_text())
                          for n in ("default", "northwind"))
    source = json.loads((REPO / "extension" / "manifest.json").read_text())
    assert default == {**source, "version": "0.1.0"}, "the default brand is the source tree"
    northwind_ids = northwind.pop("key"), northwind["browser_specific_settings"]["gecko"].pop("id")
    default_ids = default.pop("key"), default["browser_specific_settings"]["gecko"].pop("id")
    assert northwind == default and northwind_ids != default_ids
    assert northwind_ids[1] == "shop-the-look@northwind.example"


def test_the_name_port_and_colours_are_the_brands(built):
    stage = built["northwind"][0]
    module = (stage / "utils" / "brand.js").read_text()
    assert '"port": 17411' in module and '"accent": "#1d4ed8"' in module
    for lang in ("en", "el"):
        messages = json.loads((stage / "_locales" / lang / "messages.json").read_text())
        assert messages["extName"]["message"] == "Northwind Threads"
        assert messages["extShortName"]["message"] == "Northwind"
        texts = " ".join(entry["message"] for entry in messages.values())
        assert "Shop the Look" not in texts and "shop-the-look" not in texts
        assert "northwind-look serve" in texts


def test_the_source_tree_brand_module_is_the_default_brands(built):
    """What the default brand writes is what the source tree holds."""

    def export(path: Path) -> str:
        return next(line for line in path.read_text().splitlines() if line.startswith("export"))

    source = REPO / "extension" / "utils" / "brand.js"
    assert export(built["default"][0] / "utils" / "brand.js") == export(source)


def test_only_the_development_zip_carries_the_chrome_key(built):
    zips = built["northwind"][1]
    keys = {kind: "key" in json.loads(zipfile.ZipFile(path).read("manifest.json"))
            for kind, path in zips.items()}
    assert keys == {"chrome": True, "chrome-store": False, "firefox": False}


def test_the_zips_are_repeatable(built, tmp_path):
    brand = load_brand(REPO / "brands" / "northwind")
    again = build_extension(brand, "0.1.0", tmp_path / "stage", tmp_path / "zips")
    for kind, path in built["northwind"][1].items():
        assert path.read_bytes() == again[kind].read_bytes(), kind
