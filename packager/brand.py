"""A retailer's brand: ``brands/<name>/brand.toml``, read and checked field by field.

Every problem is a ``BrandError`` that names the file and the field (``[catalog] feed``) and says
what a good value looks like, so a retailer fixes a brand without reading this code. Paths in
the file are relative to the file. See docs/packaging.md for every field.
"""

from __future__ import annotations

import base64
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from companion.branding import Branding
from companion.inference.session import DEVICES
from companion.pipeline.look import GARMENT_FINDERS

BRAND_FILE = "brand.toml"

INDEX_BY = ("garment", "photo")
COLOURS = ("accent", "accent_soft", "background")
COMMAND = re.compile(r"[a-z][a-z0-9-]{1,30}")
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
GECKO_ID = re.compile(r"[\w.+-]+@[\w.-]+|\{[0-9a-fA-F-]{36}\}")
MIN_CONTRAST = 4.5  # WCAG AA for the white text drawn on the accent colour
FIELDS = {
    "brand": {"name", "short_name", "command", "port", "device", "garment_finder", "logo",
              "icon", "privacy"},
    "colours": set(COLOURS),
    "catalog": {"feed", "split", "limit", "index_by", "index_dir", "refresh_url"},
    "extension": {"chrome_key", "gecko_id"},
}


class BrandError(ValueError):
    """A brand.toml that cannot be packaged; the message names the file and the field."""


@dataclass(frozen=True)
class Catalog:
    feed: str  # an absolute path, or an http(s) URL
    split: Path | None
    limit: int | None
    index_by: str
    index_dir: Path | None  # where the index is built and kept between packagings
    refresh_url: str


@dataclass(frozen=True)
class Brand:
    folder: Path  # brands/<name>
    display_name: str
    short_name: str
    command: str
    port: int
    device: str
    garment_finder: str
    logo: Path
    icon: Path
    privacy: Path
    colours: dict[str, str]
    catalog: Catalog
    chrome_key: str  # base64 public key: fixes the Chrome extension id of development builds
    gecko_id: str

    @property
    def name(self) -> str:
        """The brand's folder name: ``dist/<name>/``."""
        return self.folder.name

    def runtime(self, version: str, logo_name: str) -> Branding:
        """What the bundled companion reads at run time (``companion/brand.json``)."""
        return Branding(
            brand=self.name, name=self.display_name, short_name=self.short_name,
            command=self.command, port=self.port, device=self.device,
            garment_finder=self.garment_finder, index="catalog", colours=dict(self.colours),
            logo=logo_name, privacy=self.privacy.read_text(encoding="utf-8").strip(),
            feed_url=self.catalog.refresh_url, version=version)


def load_brand(folder: Path) -> Brand:
    """The brand in ``folder`` (a ``brands/<name>`` folder, or its brand.toml)."""
    path = folder if folder.name == BRAND_FILE else folder / BRAND_FILE
    if not path.is_file():
        raise BrandError(f"{path}: no such file (a brand is a folder with a {BRAND_FILE})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BrandError(f"{path}: not valid TOML: {exc}") from None
    return _Reader(path, data).brand()


class _Reader:
    """Reads one brand.toml, raising BrandError at the first bad field."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path = path
        self.data = data

    def fail(self, section: str, key: str, problem: str) -> BrandError:
        return BrandError(f"{self.path}: [{section}] {key}: {problem}")

    def brand(self) -> Brand:
        for section, value in self.data.items():
            if section not in FIELDS or not isinstance(value, dict):
                raise BrandError(f"{self.path}: unknown section [{section}] (sections: "
                                 f"{', '.join(f'[{s}]' for s in FIELDS)})")
            for key in value:
                if key not in FIELDS[section]:
                    raise self.fail(section, key, "unknown field (fields: "
                                    f"{', '.join(sorted(FIELDS[section]))})")
        logo = self.file("brand", "logo", (".png", ".svg"))
        icon = self.file("brand", "icon", (".png",))
        self.square_png("brand", "icon", icon)
        return Brand(
            folder=self.path.parent.resolve(),
            display_name=self.text("brand", "name", 45),
            short_name=self.text("brand", "short_name", 15),  # the toolbar's: keep it short
            command=self.pattern("brand", "command", COMMAND, "lower-case letters, digits and "
                                 "dashes, starting with a letter (the program's name)"),
            port=self.number("brand", "port", 1024, 65535),
            device=self.choice("brand", "device", DEVICES, "auto"),
            garment_finder=self.choice("brand", "garment_finder", GARMENT_FINDERS, "detector"),
            logo=logo, icon=icon, privacy=self.file("brand", "privacy", (".md", ".txt")),
            colours={key: self.colour(key) for key in COLOURS},
            catalog=self.catalog(),
            chrome_key=self.chrome_key(),
            gecko_id=self.pattern("extension", "gecko_id", GECKO_ID, "an id like "
                                  "name@retailer.example: the extension's id in Firefox"),
        )

    def catalog(self) -> Catalog:
        feed = self.value("catalog", "feed", str)
        if not re.match(r"https?://", feed):
            feed = str(self.existing("catalog", "feed", feed))
        split = self.get("catalog", "split")
        index_dir = self.get("catalog", "index_dir")
        refresh = self.get("catalog", "refresh_url") or ""
        if refresh and not re.match(r"https://", str(refresh)):
            raise self.fail("catalog", "refresh_url", f"{refresh!r} is not an https:// URL")
        limit = self.get("catalog", "limit")
        return Catalog(
            feed=feed,
            split=self.existing("catalog", "split", split) if split is not None else None,
            limit=self.number("catalog", "limit", 1, 10**7) if limit is not None else None,
            index_by=self.choice("catalog", "index_by", INDEX_BY, "garment"),
            index_dir=self.relative("catalog", "index_dir", index_dir) if index_dir else None,
            refresh_url=str(refresh))

    # --- one kind of field each -------------------------------------------------------
    def get(self, section: str, key: str):
        return self.data.get(section, {}).get(key)

    def value(self, section: str, key: str, kind: type):
        value = self.get(section, key)
        if value is None:
            raise self.fail(section, key, "missing")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.fail(section, key, f"must be a {kind.__name__}, not {value!r}")
        return value

    def text(self, section: str, key: str, longest: int) -> str:
        value = self.value(section, key, str).strip()
        if not value or len(value) > longest:
            raise self.fail(section, key, f"must be 1 to {longest} characters, not {value!r}")
        return value

    def pattern(self, section: str, key: str, pattern: re.Pattern, what: str) -> str:
        value = self.value(section, key, str)
        if not pattern.fullmatch(value):
            raise self.fail(section, key, f"{value!r} is not {what}")
        return value

    def number(self, section: str, key: str, low: int, high: int) -> int:
        value = self.value(section, key, int)
        if not low <= value <= high:
            raise self.fail(section, key, f"must be between {low} and {high}, not {value}")
        return value

    def choice(self, section: str, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(section, key)
        if value is None:
            return default
        if value not in choices:
            raise self.fail(section, key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def relative(self, section: str, key: str, value) -> Path:
        if not isinstance(value, str) or not value:
            raise self.fail(section, key, f"must be a path, not {value!r}")
        return (self.path.parent / value).resolve()

    def existing(self, section: str, key: str, value) -> Path:
        path = self.relative(section, key, value)
        if not path.is_file():
            raise self.fail(section, key, f"{path} does not exist (paths are relative to "
                            f"{self.path.name})")
        return path

    def file(self, section: str, key: str, suffixes: tuple[str, ...]) -> Path:
        path = self.existing(section, key, self.value(section, key, str))
        if path.suffix.lower() not in suffixes:
            raise self.fail(section, key, f"must be a {' or '.join(suffixes)} file, not "
                            f"{path.name}")
        if path.stat().st_size == 0:
            raise self.fail(section, key, f"{path} is empty")
        return path

    def square_png(self, section: str, key: str, path: Path) -> None:
        from PIL import Image

        try:
            with Image.open(path) as image:
                width, height = image.size
        except OSError as exc:
            raise self.fail(section, key, f"{path.name} is not a readable PNG ({exc})") from None
        if width != height or width < 128:
            raise self.fail(section, key, f"{path.name} must be square and at least 128 px "
                            f"(it is {width}×{height})")

    def colour(self, key: str) -> str:
        value = self.pattern("colours", key, COLOUR, "a colour like #1d4ed8").lower()
        if key == "accent" and contrast_with_white(value) < MIN_CONTRAST:
            raise self.fail("colours", key, f"{value} is too light for white text on it "
                            f"(contrast {contrast_with_white(value):.1f}, at least "
                            f"{MIN_CONTRAST} needed): pick a darker shade")
        return value

    def chrome_key(self) -> str:
        value = "".join(self.value("extension", "chrome_key", str).split())
        try:
            der = base64.b64decode(value, validate=True)
        except ValueError:
            der = b""
        if len(der) < 64 or der[0] != 0x30:
            raise self.fail("extension", "chrome_key", "must be a base64 public key (the "
                            "manifest \"key\" of an unpacked Chrome extension: see "
                            "docs/packaging.md for how to make one)")
        return value


def contrast_with_white(colour: str) -> float:
    """WCAG contrast ratio of white on ``colour`` (#rrggbb)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def chrome_extension_id(key: str) -> str:
    """The id Chrome gives an extension whose manifest has this ``key``."""
    import hashlib

    digest = hashlib.sha256(base64.b64decode(key)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)
