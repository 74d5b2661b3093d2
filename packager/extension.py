"""The browser extension in a brand's name, from the one ``extension/`` source tree.

What changes per brand, and nothing else: ``utils/brand.js`` (name, port, colours), the icons,
the name in every locale's messages, the version, the Firefox id, and Chrome's development
``key`` (which fixes the extension id; the store assigns its own, so the store zip has none).
The zips are deterministic (sorted entries, fixed dates): the same sources give the same bytes.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

from packager.brand import Brand, chrome_extension_id

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "extension"
ICON_SIZES = (16, 32, 48, 128)
PRODUCT = "Shop the Look"  # the name the messages use, replaced by the brand's
PROGRAM = "shop-the-look"  # the command the messages tell the user to run
SKIP = ("web-ext-artifacts", "node_modules", ".DS_Store")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def build_extension(brand: Brand, version: str, stage: Path, out: Path) -> dict[str, Path]:
    """Write the branded extension to ``stage`` and its zips to ``out``: ``chrome`` (with the
    development key), ``chrome-store`` (without) and ``firefox``; {kind: zip}."""
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(SOURCE, stage, ignore=shutil.ignore_patterns(*SKIP))
    (stage / "utils" / "brand.js").write_text(brand_module(brand), encoding="utf-8")
    write_icons(brand.icon, stage / "icons")
    for messages in (stage / "_locales").glob("*/messages.json"):
        messages.write_text(branded_messages(messages, brand), encoding="utf-8")
    manifest = json.loads((stage / "manifest.json").read_text(encoding="utf-8"))
    manifest["version"] = version
    manifest["browser_specific_settings"]["gecko"]["id"] = brand.gecko_id
    manifest["key"] = brand.chrome_key
    # The stage is the development build unpacked: loadable as is (chrome://extensions).
    (stage / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    zips = {}
    for kind, keep_key in (("chrome", True), ("chrome-store", False), ("firefox", False)):
        shipped = dict(manifest) if keep_key else {k: v for k, v in manifest.items() if k != "key"}
        zips[kind] = out / f"{brand.name}-{kind}.zip"
        write_zip(stage, shipped, zips[kind])
    (out / "README.txt").write_text(readme(brand), encoding="utf-8")
    return zips


def brand_module(brand: Brand) -> str:
    values = {"name": brand.display_name, "port": brand.port, "colours": brand.colours}
    return (f"// {brand.display_name}: written by scripts/package.sh from "
            f"brands/{brand.name}/brand.toml (the source tree has Shop the Look's own).\n"
            f"export const BRAND = {json.dumps(values, ensure_ascii=False)};\n")


def write_icons(icon: Path, folder: Path) -> None:
    from PIL import Image

    with Image.open(icon) as image:
        square = image.convert("RGBA")
    for size in ICON_SIZES:
        square.resize((size, size), Image.Resampling.LANCZOS).save(
            folder / f"icon-{size}.png", optimize=True)


def branded_messages(path: Path, brand: Brand) -> str:
    """The locale's messages with the brand's name (and command) for Shop the Look's."""
    messages = json.loads(path.read_text(encoding="utf-8"))
    for key, entry in messages.items():
        text = entry["message"].replace(PRODUCT, brand.display_name)
        entry["message"] = text.replace(f"{PROGRAM} ", f"{brand.command} ")
        if key == "extShortName":
            entry["message"] = brand.short_name
    return json.dumps(messages, ensure_ascii=False, indent=2) + "\n"


def write_zip(folder: Path, manifest: dict, target: Path) -> None:
    """``folder`` zipped with ``manifest`` as its manifest.json, byte for byte repeatable."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = [("manifest.json", json.dumps(manifest, indent=2).encode() + b"\n")]
        entries += [(p.relative_to(folder).as_posix(), p.read_bytes()) for p in files]
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def readme(brand: Brand) -> str:
    chrome_id = chrome_extension_id(brand.chrome_key)
    text = io.StringIO()
    text.write(f"{brand.display_name}: the browser extension\n\n")
    text.write(f"{brand.name}-chrome.zip        Chrome/Edge, development build: unzip it and "
               f"load it unpacked (chrome://extensions, Developer mode); its id is {chrome_id}.\n")
    text.write(f"{brand.name}-chrome-store.zip  Chrome Web Store / Edge Add-ons upload (the "
               "store gives the id).\n")
    text.write(f"{brand.name}-firefox.zip       Firefox 121+ (id {brand.gecko_id}): sign it on "
               "addons.mozilla.org, or load it from about:debugging.\n\n")
    text.write(f"The extension talks to the companion on 127.0.0.1:{brand.port}.\n")
    return text.getvalue()
