"""``python -m packager brands/<name>`` (what ``scripts/package.sh`` runs): a brand's installer.

Writes ``dist/<name>/``: ``app/`` (the one-folder program: ``app/shop-the-look``, no Python
needed), ``extension/`` (the zips for Chrome/Edge and Firefox), the privacy statement and, on
Linux, ``install.sh`` and ``uninstall.sh``, archived as ``dist/<name>-linux-<arch>.tar.gz``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from importlib.metadata import version as installed_version
from pathlib import Path

from packager.brand import BrandError, chrome_extension_id, load_brand
from packager.bundle import assemble, build_runtime
from packager.catalog import brand_index
from packager.extension import build_extension
from packager.licences import write_licences
from packager.linux import archive_name, write_archive, write_scripts

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/package.sh", description="Build a retailer's branded installer: the "
        "companion as a one-folder program with the brand's catalog, and its browser extension.")
    parser.add_argument("brand", type=Path, help="the brand's folder (brands/<name>)")
    parser.add_argument("--out", type=Path, default=REPO / "dist", metavar="DIR",
                        help="where dist/<name>/ and the archive go (default: dist)")
    parser.add_argument("--work", type=Path, default=REPO / "build", metavar="DIR",
                        help="build folder, reused by the next packaging (default: build)")
    parser.add_argument("--index", type=Path, metavar="DIR",
                        help="bundle this catalog index (its current version) instead of "
                        "building the brand's feed")
    parser.add_argument("--no-archive", action="store_true",
                        help="leave out the .tar.gz (dist/<name>/ is still complete)")
    args = parser.parse_args(argv)
    try:
        brand = load_brand(args.brand)
    except BrandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    version = installed_version("shop-the-look")
    target = args.out / brand.name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    work = args.work / brand.name
    print(f"==> {brand.display_name} ({brand.name}) {version} into {target}", flush=True)
    zips = build_extension(brand, version, work / "extension", target / "extension")
    index_dir = args.index or brand_index(brand, work)
    runtime = build_runtime(args.work)
    assemble(brand, runtime, index_dir, version, target / "app",
             graphs_cache=args.work / "optimized-cache")
    licences = write_licences(target / "app" / "LICENSES")
    archive = None
    if sys.platform.startswith("linux"):
        write_scripts(brand, target)
        if not args.no_archive:
            print("==> archive", flush=True)
            archive = write_archive(target, args.out / archive_name(brand))
    summary = {
        "brand": brand.name, "name": brand.display_name, "version": version,
        "port": brand.port, "command": brand.command,
        "app_bytes": folder_bytes(target / "app"),
        "archive": str(archive) if archive else None,
        "archive_bytes": archive.stat().st_size if archive else None,
        "extension_zips": {kind: str(path) for kind, path in zips.items()},
        "chrome_extension_id": chrome_extension_id(brand.chrome_key),
        "gecko_id": brand.gecko_id, "licensed_distributions": len(licences),
        "seconds": round(time.monotonic() - started, 1),
    }
    (args.out / f"{brand.name}.build.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"==> done in {summary['seconds']} s: {target} ({summary['app_bytes'] / 1e6:.0f} MB "
          f"on disk)" + (f", {archive} ({summary['archive_bytes'] / 1e6:.0f} MB)"
                         if archive else ""), flush=True)
    return 0


def folder_bytes(folder: Path) -> int:
    """Bytes on disk of the files in ``folder`` (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


if __name__ == "__main__":
    sys.exit(main())
