"""The panel's one message catalogue (``static/i18n/<lang>.json``) and the language choice.

The page cannot fetch files next to it (it is a local file), so Python reads the catalogue and
hands it over when the page is ready.
"""

from __future__ import annotations

import base64
import json
import locale
import os
from pathlib import Path

from companion import branding, paths

LANG_ENV = "SHOP_THE_LOOK_LANG"  # e.g. "el" or "en": overrides the system locale
LANGUAGES = ("en", "el")
DEFAULT = "en"


def static_dir() -> Path:
    return paths.asset_dir("companion.panel") / "static"


def choose_language(environ: dict[str, str] | None = None) -> str:
    """The override, else the first of LC_ALL / LC_MESSAGES / LANG / the system locale we have."""
    environ = os.environ if environ is None else environ
    candidates = [environ.get(LANG_ENV, "")]
    candidates += [environ.get(name, "") for name in ("LC_ALL", "LC_MESSAGES", "LANG")]
    if environ is os.environ:
        candidates.append(locale.getlocale()[0] or "")
    for candidate in candidates:
        code = candidate.split(".")[0].split("_")[0].split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT


def messages(language: str) -> dict[str, str]:
    """The catalogue of ``language``, with English filling any key it lacks."""
    folder = static_dir() / "i18n"
    base = json.loads((folder / f"{DEFAULT}.json").read_text(encoding="utf-8"))
    if language != DEFAULT and language in LANGUAGES:
        base.update(json.loads((folder / f"{language}.json").read_text(encoding="utf-8")))
    return base


def page_brand() -> dict:
    """The name, colours and logo (a data URL, "" for the built-in one) the page shows."""
    brand = branding.current()
    logo = brand.logo_path()
    source = ""
    if logo is not None and logo.is_file():
        kind = "image/svg+xml" if logo.suffix.lower() == ".svg" else "image/png"
        source = f"data:{kind};base64,{base64.b64encode(logo.read_bytes()).decode()}"
    return {"name": brand.name, "colours": brand.colours, "logo": source}
