"""Where the tests find the shared data, and the marker for tests that need it.

The data lives outside the repository (``../shared/data``, or ``$SHOP_THE_LOOK_DATA``: one rule,
``training.data.data_root``). A test that needs it carries ``requires_data``, which checks every
folder the suite reads, not one file: a machine missing any of them skips those tests, and CI,
where skips fail the run (``support.strict_skips``), says which folder is missing.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from training.data import data_root
from training.paths import REPO

DATA = data_root()
STREET = DATA / "street"
CATALOG = DATA / "catalog"
FACES = DATA / "faces"
PEOPLE = DATA / "people"

# What the tests read of each folder (each folder's README describes it).
NEEDED = (
    CATALOG / "feed.tsv", CATALOG / "split.tsv", CATALOG / "images",
    STREET / "annotations.json", STREET / "trainval.txt", STREET / "test.txt",
    STREET / "images", STREET / "labels",
    FACES / "labels.csv", FACES / "images",
    PEOPLE / "labels.csv", PEOPLE / "images",
)


def missing_data() -> list[Path]:
    return [path for path in NEEDED if not path.exists()]


requires_data = pytest.mark.skipif(
    bool(missing_data()),
    reason=f"shared data missing under {DATA}: "
    + ", ".join(str(p.relative_to(DATA)) for p in missing_data()),
)


def street_photo(name: str) -> bytes:
    return (STREET / "images" / name).read_bytes()


def skip_unless_installed(reasons: dict[str, str]) -> None:
    """Skip the calling test module unless every package is installed.

    Checked without importing: training runs in the module's own process, and importing its
    packages here (ultralytics pulls in OpenCV and its Qt) would leak into later tests.
    """
    for package, reason in reasons.items():
        if importlib.util.find_spec(package) is None:
            pytest.skip(reason, allow_module_level=True)


def run_module(module: str, *args: str, timeout: int) -> str:
    """Run ``python -m <module>`` (e.g. ``training.embedder``) with this interpreter from the
    repository root; its output, or a failure with its tail."""
    run = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout + run.stderr


def smoke_train(module: str, root: Path, model: str, *args: str, timeout: int) -> tuple[Path, str]:
    """A smoke run of a training module on the shared data: ``python -m <module> --data DATA
    <args>``, working in ``root/work`` and exporting to ``root/models/<model>``; (``root/models``,
    its log)."""
    models = root / "models"
    log = run_module(module, "--data", str(DATA), *args, "--work", str(root / "work"),
                     "--out", str(models / model), timeout=timeout)
    return models, log
