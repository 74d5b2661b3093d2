"""The licences of everything the bundle ships: ``LICENSES/`` beside the program.

One folder per Python distribution the companion runs on (its runtime requirements and the
panel's, followed to their own requirements), with the licence files that distribution
installed, plus Python's own licence; ``LICENSES/README.txt`` lists them with their declared
licence. The models' terms are in ``NOTICE`` and each model's ``MODEL_CARD.md``.
"""

from __future__ import annotations

import re
import shutil
import sys
import sysconfig
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

ROOT = "shop-the-look"
EXTRAS = ("panel",)
LICENCE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)
QT_NOTE = """\
PyQt6 is licensed under the GPL v3 (or a commercial licence from Riverbank Computing), and Qt
under the LGPL v3. A retailer distributing this bundle must meet those terms or hold commercial
licences; building with PySide6 (LGPL) instead of PyQt6 is the usual way out (docs/packaging.md).
"""


def write_licences(target: Path) -> list[str]:
    """Write ``target`` (``LICENSES/``); the distributions covered, as ``name version``."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    lines = ["Third-party software in this program, with the licence each declares.", ""]
    covered = []
    for dist in runtime_distributions():
        name, version = dist.metadata["Name"], dist.version
        folder = target / f"{name}-{version}"
        copied = 0
        for file in dist.files or []:
            if LICENCE_FILE.search(file.name) and not file.name.endswith((".py", ".pyc")):
                source = Path(str(dist.locate_file(file)))
                if source.is_file():
                    folder.mkdir(exist_ok=True)
                    shutil.copy2(source, folder / f"{copied:02d}-{file.name}")
                    copied += 1
        lines.append(f"{name} {version}: {declared_licence(dist)}"
                     f"{'' if copied else ' (no licence file shipped by the package)'}")
        covered.append(f"{name} {version}")
    python_licence = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if python_licence.is_file():
        shutil.copy2(python_licence, target / "Python-LICENSE.txt")
    lines += ["", f"Python {sys.version.split()[0]}: PSF License (Python-LICENSE.txt)", "",
              QT_NOTE]
    (target / "README.txt").write_text("\n".join(lines), encoding="utf-8")
    return covered


def runtime_distributions() -> list[Distribution]:
    """The companion's runtime and panel requirements, followed to theirs (no extras of
    theirs, no environment markers that do not hold here)."""
    seen: dict[str, Distribution] = {}
    todo = [(ROOT, EXTRAS)]
    while todo:
        name, extras = todo.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen and not extras:
            continue
        seen[key] = dist
        for requirement in dist.requires or []:
            wanted = _required(requirement, extras)
            if wanted:
                todo.append((wanted, ()))
    return [dist for key, dist in sorted(seen.items()) if key != ROOT]


def declared_licence(dist: Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    short = (meta.get("License") or "").strip().splitlines()
    return ", ".join(classifiers) or (short[0][:80] if short else "not declared")


def _required(requirement: str, extras: tuple[str, ...]) -> str | None:
    """The distribution name a requirement line asks for here, or None."""
    from packaging.requirements import Requirement

    parsed = Requirement(requirement)
    if parsed.marker is not None:
        environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
        if not any(parsed.marker.evaluate(env) for env in environments):
            return None
    return parsed.name
