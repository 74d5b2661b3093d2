"""Where the companion finds its models, indexes and assets.

Everything goes through importlib.resources so the same code works from a checkout, an installed
wheel and a PyInstaller bundle. Nothing else in the package may build paths from ``__file__``.
"""

from __future__ import annotations

import os
import sys
from importlib.resources import as_file, files
from pathlib import Path

from companion import branding

INDEX_ENV = "SHOP_THE_LOOK_INDEX"
MODELS_ENV = "SHOP_THE_LOOK_MODELS"
CONFIG_ENV = "SHOP_THE_LOOK_CONFIG"
APP_DIR_NAME = "shop-the-look"  # Shop the Look's own; a branded build uses its command's name
DEMO_INDEX_NAME = "demo"


def _resource_dir(package: str) -> Path:
    with as_file(files(package)) as path:  # a real directory for both checkouts and bundles
        return Path(path)


def models_dir() -> Path:
    """The folder holding one sub-folder per model (``<name>/manifest.json``)."""
    override = os.environ.get(MODELS_ENV)
    return Path(override) if override else _resource_dir("companion.models")


def bundled_indexes_dir() -> Path:
    """The folder of catalog indexes that ship with the companion (the demo index lives here)."""
    return _resource_dir("companion.indexes")


def default_index_dir() -> Path:
    """The index ``look`` and ``serve`` use when none is given: $SHOP_THE_LOOK_INDEX, else the
    one that ships (the demo in a checkout, the brand's catalog in a branded build)."""
    override = os.environ.get(INDEX_ENV)
    return Path(override) if override else bundled_indexes_dir() / branding.current().index


def asset_dir(package: str) -> Path:
    """A package's static assets, e.g. ``asset_dir("companion.panel") / "static"``."""
    return _resource_dir(package)


def config_dir() -> Path:
    """Per-user settings (paired browsers): $SHOP_THE_LOOK_CONFIG or the platform's config folder.

    Kept outside the install so an update or a reinstall does not forget the pairings; each
    brand has its own (named after its command), so two branded companions never share one.
    """
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / branding.current().command
