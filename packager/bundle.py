"""The companion as a one-folder program: PyInstaller's runtime, then the brand on top.

PyInstaller freezes what is the same for every brand (Python, the companion's code, onnxruntime,
numpy, usearch, aiohttp, pywebview and Qt) from ``packager/companion.spec`` into
``build/pyinstaller``; a second brand reuses it as long as the sources are unchanged. The brand's
pieces are then written into a copy: ``brand.json`` (name, colours, port, device, privacy text),
its logo and icon, its catalog index, and the models its garment finder needs as their graphs
optimised for the CPU (packager/optimize.py): in place of the models' own files where the frozen
onnxruntime runs on the CPU alone (one copy of each model), beside them where it offers a GPU
(which needs the originals). That is also why two brands' bundles differ only in those pieces
(tests/e2e/test_bundle.py diffs them).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from companion.inference.manifest import read_manifest
from companion.inference.optimized import FOLDER as OPTIMIZED_FOLDER
from companion.inference.session import CPU, DEVICE_PROVIDERS, ort
from packager.brand import Brand
from packager.catalog import copy_current_version
from packager.optimize import CACHE as GRAPHS_CACHE
from packager.optimize import left_out, optimize_models, ship_in_place

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "packager" / "companion.spec"
EXECUTABLE = "shop-the-look"  # the program in every bundle; install.sh links the brand's name
CONTENTS = "_internal"  # PyInstaller's folder of everything but the executable
MODELS = ("movenet-multipose", "centernet", "blazeface", "faceres", "body-gender",
          "garment-embedder")
DETECTOR = "garment-detector"
SOURCES = ("companion", "packager/companion.spec", "packager/launcher.py",
           "packager/pruning.py", "pyproject.toml")


def build_runtime(work: Path) -> Path:
    """The brand-independent bundle (PyInstaller's output), rebuilt only when its sources
    changed since the last build in ``work``."""
    runtime = work / "runtime" / EXECUTABLE
    stamp = work / "runtime.sha256"
    fingerprint = _sources_fingerprint()
    if runtime.is_dir() and stamp.is_file() and stamp.read_text() == fingerprint:
        print(f"==> runtime: unchanged sources, reusing {runtime}", flush=True)
        return runtime
    print("==> runtime: PyInstaller (a few minutes)", flush=True)
    stamp.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--workpath", str(work / "pyinstaller"), "--distpath", str(work / "runtime"),
                    str(SPEC)], cwd=REPO, check=True)
    strip_symbols(runtime)
    stamp.write_text(fingerprint)
    return runtime


def strip_symbols(folder: Path) -> int:
    """Linux: strip the symbol tables of the bundle's shared libraries (numkong, libpython and
    usearch alone carry about 80 MB of them); the bytes saved.

    Not the libraries that auditwheel vendored into ``<package>.libs`` folders (patchelf's
    layout does not survive strip: numpy's OpenBLAS then fails to load), not Qt's own (stripped
    already; PyQt6's bindings are), and nothing on macOS, where it breaks code signatures.
    """
    tool = shutil.which("strip")
    if not sys.platform.startswith("linux") or tool is None:
        return 0
    saved = 0
    for path in sorted(folder.rglob("*.so*")):
        parts = path.relative_to(folder).parts
        if path.is_symlink() or not path.is_file() or parts[:2] == ("PyQt6", "Qt6") or any(
                part.endswith(".libs") for part in parts):
            continue
        before = path.stat().st_size
        subprocess.run([tool, "--strip-unneeded", str(path)], check=True)
        saved += before - path.stat().st_size
    print(f"==> runtime: stripped {saved / 1e6:.0f} MB of symbols", flush=True)
    return saved


def assemble(brand: Brand, runtime: Path, index_dir: Path, version: str, app: Path,
             graphs_cache: Path | None = None) -> None:
    """The brand's bundle at ``app``: the runtime plus the brand's pieces (``graphs_cache``:
    where optimised graphs are kept between packagings, default build/optimized-cache)."""
    shutil.rmtree(app, ignore_errors=True)
    shutil.copytree(runtime, app, symlinks=True)
    package = app / CONTENTS / "companion"
    logo = f"brand-logo{brand.logo.suffix.lower()}"
    shutil.copy2(brand.logo, package / logo)
    shutil.copy2(brand.icon, app / "icon.png")
    runtime_brand = brand.runtime(version, logo)
    (package / "brand.json").write_text(
        json.dumps(asdict(runtime_brand), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    copy_current_version(index_dir, package / "indexes" / runtime_brand.index)
    models = [*MODELS, *([DETECTOR] if brand.garment_finder == "detector" else [])]
    # Optimised once here, not at every start (companion/inference/optimized.py), by the
    # onnxruntime the runtime froze: the one installed here.
    cache = graphs_cache or GRAPHS_CACHE
    if gpu_providers():
        for name in models:
            shutil.copytree(REPO / "models" / name, package / "models" / name,
                            ignore=left_out(read_manifest(REPO / "models" / name)))
        optimize_models(REPO / "models", models, package / "models" / OPTIMIZED_FOLDER, cache)
    else:
        ship_in_place(REPO / "models", models, package / "models", cache)
    shutil.copy2(REPO / "models" / "NOTICE", package / "models" / "NOTICE")
    shutil.copy2(REPO / "models" / "NOTICE", app / "NOTICE")
    shutil.copy2(brand.privacy, app / f"PRIVACY{brand.privacy.suffix}")


def gpu_providers(available: list[str] | None = None) -> list[str]:
    """The GPU providers of the onnxruntime installed here (the one the bundle freezes): none
    for the CPU build, whose bundle then ships each model once, as its optimised graph."""
    offered = ort.get_available_providers() if available is None else available
    return [p for p in DEVICE_PROVIDERS.values() if p != CPU and p in offered]


def _sources_fingerprint() -> str:
    """What the runtime is built from: the companion's sources, the spec and the installed
    packages' versions."""
    from importlib.metadata import distributions

    digest = hashlib.sha256()
    for source in SOURCES:
        root = REPO / source
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(REPO).as_posix().encode())
                digest.update(path.read_bytes())
    installed = sorted(f"{d.metadata['Name']}=={d.version}" for d in distributions())
    digest.update("\n".join(installed).encode())
    return digest.hexdigest()
