"""The Linux download: ``dist/<name>-linux-x86_64.tar.gz`` with install.sh and uninstall.sh.

install.sh installs for the user alone (``~/.local``, no administrator rights): the program, a
command, an applications-menu entry and, with ``--autostart``, a login entry; it records what
it made so uninstall.sh removes exactly that (tests/e2e/test_bundle.py checks that a temporary
HOME is left as it was).
"""

from __future__ import annotations

import platform
import tarfile
from pathlib import Path

from packager.brand import Brand
from packager.bundle import EXECUTABLE

TEMPLATES = Path(__file__).resolve().parent / "templates"
SCRIPTS = ("install.sh", "uninstall.sh")


def write_scripts(brand: Brand, folder: Path) -> None:
    """install.sh and uninstall.sh for ``brand``, in ``folder`` (beside ``app/``)."""
    values = {
        "@NAME@": brand.display_name, "@COMMAND@": brand.command, "@EXECUTABLE@": EXECUTABLE,
        "@COMMENT@": f"Find the clothes of any photo in the {brand.display_name} catalog, on "
                     "this computer",
    }
    for name in SCRIPTS:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        target = folder / name
        target.write_text(text, encoding="utf-8")
        target.chmod(0o755)


def archive_name(brand: Brand) -> str:
    return f"{brand.name}-linux-{platform.machine()}.tar.gz"


def write_archive(folder: Path, target: Path) -> Path:
    """``folder`` as a gzipped tar whose one top folder is ``folder``'s name; links kept."""
    with tarfile.open(target, "w:gz", compresslevel=6) as archive:
        archive.add(folder, arcname=folder.name)
    return target
