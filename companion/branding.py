"""Whose companion this is: the retailer's name, colours, port, device and catalog.

A branded build (``scripts/package.sh brands/<name>``) writes ``brand.json`` into the package
from the brand's ``brand.toml``; a checkout has none and is Shop the Look itself. Read once,
through importlib.resources like every other asset, so a frozen bundle finds it the same way.
Only the standard library here: ``paths`` and the server's configuration read it at import.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from functools import cache
from importlib.resources import files
from pathlib import Path

BRAND_FILE = "brand.json"
BRAND_ENV = "SHOP_THE_LOOK_BRAND"  # a brand.json to use instead (trying a brand in a checkout)
DEFAULT_COLOURS = {"accent": "#c2410c", "accent_soft": "#fbeee6", "background": "#f7f5f2"}


@dataclass(frozen=True)
class Branding:
    """What a build bakes in; every field has Shop the Look's own value as its default."""

    brand: str = "default"  # the folder under brands/ it was built from
    name: str = "Shop the Look"  # shown in window titles, the panel and the extension
    short_name: str = "Shop the Look"
    command: str = "shop-the-look"  # the program's name, and its per-user folders' name
    port: int = 17317  # the companion's and the extension's default port
    device: str = "auto"  # ``--device`` when none is given
    garment_finder: str = "detector"  # or "keypoints": a build without the detector
    index: str = "demo"  # the bundled catalog index folder (companion.indexes/<index>)
    colours: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COLOURS))
    logo: str = ""  # a file name beside brand.json (PNG or SVG); "" for the built-in logo
    privacy: str = ""  # the retailer's privacy statement, as plain text
    feed_url: str = ""  # where a later catalog refresh fetches the feed from ("" for none)
    version: str = ""  # the build's version (the package's, stamped at packaging time)

    @property
    def branded(self) -> bool:
        return self.brand != "default"

    def logo_path(self) -> Path | None:
        """The brand's logo file, or None for the built-in one."""
        return _brand_dir() / self.logo if self.logo else None


def read(path: Path) -> Branding:
    """A ``brand.json``; unknown keys are ignored, so an older companion reads a newer file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    known = {f.name for f in fields(Branding)}
    values = {k: v for k, v in data.items() if k in known}
    values["colours"] = {**DEFAULT_COLOURS, **values.get("colours", {})}
    return Branding(**values)


@cache
def current() -> Branding:
    """This build's branding: $SHOP_THE_LOOK_BRAND, else the packaged brand.json, else the
    defaults."""
    path = brand_file()
    return read(path) if path.is_file() else Branding()


def brand_file() -> Path:
    """Where this build's brand.json is (or would be)."""
    override = os.environ.get(BRAND_ENV)
    return Path(override) if override else Path(str(files("companion"))) / BRAND_FILE


def _brand_dir() -> Path:
    return brand_file().parent
