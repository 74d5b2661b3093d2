"""What a real install ships: every runtime package, and nothing of the training package.

The editable install used in development maps the whole ``companion/`` folder, so a package
missing from pyproject.toml works here and breaks only in a wheel or the frozen installer.
"""

from __future__ import annotations

import tomllib

from tests.support.data import REPO


def _setuptools() -> dict:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return project["tool"]["setuptools"]


def test_every_runtime_package_is_listed_for_the_wheel():
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "companion").rglob("__init__.py")
    }
    assert found <= set(_setuptools()["packages"])


def test_the_training_package_and_the_packager_never_ship():
    listed = _setuptools()["packages"]
    assert not [name for name in listed if name.split(".")[0] in ("training", "packager")]
