"""A brand.toml is checked field by field: a retailer reads which file and which field is wrong,
and what a good value looks like. The two shipped brands are valid."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from companion import branding
from packager.brand import (
    BrandError,
    chrome_extension_id,
    contrast_with_white,
    load_brand,
)
from tests.support.companion_http import EXTENSION_ID
from tests.support.data import REPO, requires_data

pytestmark = requires_data  # the brands' catalogs are the shared data's feed
BRANDS = REPO / "brands"


@pytest.fixture()
def brand_copy(tmp_path) -> Path:
    """A copy of the northwind brand whose brand.toml a test may spoil; its paths made
    absolute so the copy still finds the shared catalog."""
    folder = Path(shutil.copytree(BRANDS / "northwind", tmp_path / "shop"))
    toml = folder / "brand.toml"
    text = toml.read_text(encoding="utf-8").replace(
        '"../../../shared/', f'"{(BRANDS / "northwind" / "../../../shared").resolve()}/')
    toml.write_text(text, encoding="utf-8")
    return folder


def spoil(folder: Path, old: str, new: str) -> None:
    toml = folder / "brand.toml"
    text = toml.read_text(encoding="utf-8")
    assert re.search(old, text, re.MULTILINE), old
    toml.write_text(re.sub(old, new, text, count=1, flags=re.MULTILINE), encoding="utf-8")


@pytest.mark.parametrize("name", ["default", "northwind"])
def test_the_shipped_brands_are_valid(name):
    brand = load_brand(BRANDS / name)
    assert brand.name == name and brand.port >= 1024
    assert contrast_with_white(brand.colours["accent"]) >= 4.5


def test_the_default_brand_keeps_the_extension_id_of_the_source_tree():
    """The development key of brands/default is extension/manifest.json's: the same id."""
    assert chrome_extension_id(load_brand(BRANDS / "default").chrome_key) == EXTENSION_ID


def test_the_two_brands_differ_in_what_makes_a_brand():
    default, northwind = load_brand(BRANDS / "default"), load_brand(BRANDS / "northwind")
    for field in ("display_name", "command", "port", "colours", "chrome_key", "gecko_id"):
        assert getattr(default, field) != getattr(northwind, field), field
    assert default.catalog != northwind.catalog


@pytest.mark.parametrize(("old", "new", "says"), [
    (r'^name = .*$', "", r"\[brand\] name: missing"),
    (r'^port = .*$', "port = 80", r"\[brand\] port: must be between 1024 and 65535, not 80"),
    (r'^port = .*$', 'port = "17411"', r"\[brand\] port: must be a int"),
    (r'^command = .*$', 'command = "Northwind Look"', r"\[brand\] command: 'Northwind Look' is"),
    (r'^device = .*$', 'device = "gpu"', r"\[brand\] device: 'gpu' is not one of auto, cpu"),
    (r'^garment_finder = .*$', 'garment_finder = "yolo"', r"garment_finder: 'yolo' is not"),
    (r'^short_name = .*$', 'short_name = "Northwind Threads Outlet"', r"short_name: must be 1 to"),
    (r'^accent = .*$', 'accent = "blue"', r"\[colours\] accent: 'blue' is not a colour"),
    (r'^accent = .*$', 'accent = "#a5b4fc"', r"\[colours\] accent: #a5b4fc is too light"),
    (r'^icon = .*$', 'icon = "logo.svg"', r"\[brand\] icon: must be a \.png file"),
    (r'^logo = .*$', 'logo = "missing.svg"', r"\[brand\] logo: .*missing\.svg does not exist"),
    (r'^limit = .*$', "limit = 0", r"\[catalog\] limit: must be between 1"),
    (r'^index_by = .*$', 'index_by = "pixels"', r"\[catalog\] index_by: 'pixels' is not"),
    (r'^refresh_url = .*$', 'refresh_url = "ftp://x"', r"\[catalog\] refresh_url: .* https://"),
    (r'^feed = .*$', 'feed = "nowhere.tsv"', r"\[catalog\] feed: .*nowhere\.tsv does not exist"),
    (r'^chrome_key = .*$', 'chrome_key = "bm90IGEga2V5"', r"\[extension\] chrome_key: must be"),
    (r'^gecko_id = .*$', 'gecko_id = "northwind"', r"\[extension\] gecko_id: 'northwind' is"),
    (r'^port = (.*)$', r"port = \1\ncolour = 'red'", r"\[brand\] colour: unknown field"),
    (r'^\[extension\]$', "[extensions]", r"unknown section \[extensions\]"),
    (r'^\[brand\]$', "[brand", r"not valid TOML"),
])
def test_a_bad_field_names_the_file_and_the_field(brand_copy, old, new, says):
    spoil(brand_copy, old, new)
    with pytest.raises(BrandError) as caught:
        load_brand(brand_copy)
    assert str(caught.value).startswith(f"{brand_copy / 'brand.toml'}: ")
    assert re.search(says, str(caught.value)), str(caught.value)


def test_an_icon_that_is_not_square_is_refused(brand_copy):
    from PIL import Image

    Image.new("RGBA", (256, 128), "#1d4ed8").save(brand_copy / "icon.png")
    with pytest.raises(BrandError, match=r"icon: icon\.png must be square and at least 128 px"):
        load_brand(brand_copy)


def test_a_folder_without_a_brand_file_says_what_a_brand_is(tmp_path):
    with pytest.raises(BrandError, match=r"a brand is a folder with a brand\.toml"):
        load_brand(tmp_path)


def test_what_the_bundle_reads_at_run_time_round_trips(tmp_path):
    """packager writes brand.json from the brand; companion.branding reads back the same."""
    brand = load_brand(BRANDS / "northwind")
    written = brand.runtime("9.9.9", "brand-logo.svg")
    path = tmp_path / "brand.json"
    path.write_text(json.dumps({**asdict(written), "from_a_newer_build": 1}), encoding="utf-8")
    read = branding.read(path)
    assert read == written
    assert (read.port, read.command, read.index, read.branded) == (
        17411, "northwind-look", "catalog", True)
    assert "never leaves this computer" in read.privacy


def test_a_checkout_is_shop_the_look_itself():
    plain = branding.Branding()
    assert (plain.name, plain.port, plain.index, plain.branded) == (
        "Shop the Look", 17317, "demo", False)
