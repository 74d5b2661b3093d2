"""The branded installer, built and run as a shopper gets it (issue 31). SLOW: packaging runs
PyInstaller (about 2 minutes on 2 cores); the whole module takes about 6.

``scripts/package.sh brands/northwind`` builds the example retailer's Linux bundle into a
temporary folder, as CI does from its clean clone. The bundle then runs outside the development
environment (a fresh HOME, a PATH without the virtual environment, no PYTHONPATH): ``look
--json`` on a street photo, and ``serve`` with ``/v1/ping`` and a paired ``POST /v1/looks``, each
with the same items and matches as the development install on the same catalog. A second brand
(the default, with a small catalog) reuses the frozen runtime, and the two bundles and extension
zips differ only in what makes a brand. install.sh and uninstall.sh run in a temporary HOME and
leave nothing behind; the bundled results window opens with the brand's name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.e2e.test_panel_window import display  # noqa: F401  (the Xvfb fixture)
from tests.support.companion_http import EXTENSION_ORIGIN, authorised, free_port, request
from tests.support.data import REPO, STREET, requires_data

pytestmark = [requires_data, pytest.mark.slow]
PHOTO = STREET / "images" / "ccp_0003.jpg"
PACKAGE_TIMEOUT_S = 1500
BRANDED = {  # what two brands' bundles may differ in (paths inside app/)
    "_internal/companion/brand.json", "_internal/companion/brand-logo.svg", "icon.png",
    "PRIVACY.md"}
BRAND_FIELDS = {"brand", "name", "short_name", "command", "port", "colours", "privacy",
                "feed_url"}


@pytest.fixture(scope="module")
def built(tmp_path_factory, small_index_dir) -> dict:
    """Both brands packaged: {"out": folder, "northwind": build.json, "default": build.json}."""
    if find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller missing: pip install -e '.[panel,package]' (setup.sh --test)")
    root = tmp_path_factory.mktemp("packaging")
    out, work = root / "dist", root / "build"
    timings = {}
    for brand, extra in (("northwind", []), ("default", ["--index", str(small_index_dir),
                                                        "--no-archive"])):
        started = time.monotonic()
        run = subprocess.run([str(REPO / "scripts" / "package.sh"), f"brands/{brand}", "--out",
                              str(out), "--work", str(work), *extra], cwd=REPO,
                             capture_output=True, text=True, timeout=PACKAGE_TIMEOUT_S)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        timings[brand] = round(time.monotonic() - started, 1)
    print(f"\npackaging took {timings} s")
    return {"out": out, **{b: json.loads((out / f"{b}.build.json").read_text()) for b in timings}}


def app(built: dict, brand: str = "northwind") -> Path:
    return built["out"] / brand / "app"


def outside(home: Path, **extra: str) -> dict[str, str]:
    """A shopper's environment: a fresh HOME, the system's PATH (no virtual environment, no
    Python of ours), no PYTHONPATH, no display unless given."""
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **extra}


def development_look(index: Path) -> dict:
    run = subprocess.run([sys.executable, "-m", "companion.cli", "look", str(PHOTO), "--json",
                          "--top-k", "5", "--index", str(index)], capture_output=True,
                         text=True, timeout=180, cwd=REPO)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def essence(look: dict) -> list[tuple]:
    """What must not change between installs: each item's garment and box and its matches."""
    return [(i["category"], i["box"], [(m["id"], round(m["score"], 4)) for m in i["matches"]])
            for i in look["items"]]


def bundled_index(built: dict) -> Path:
    return app(built) / "_internal" / "companion" / "indexes" / "catalog"


def test_the_example_brand_is_a_complete_download(built):
    northwind = built["northwind"]
    folder = built["out"] / "northwind"
    assert {p.name for p in folder.iterdir()} == {"app", "extension", "install.sh",
                                                  "uninstall.sh"}
    assert (app(built) / "shop-the-look").is_file() and (app(built) / "LICENSES").is_dir()
    assert (app(built) / "NOTICE").is_file() and (app(built) / "PRIVACY.md").is_file()
    with tarfile.open(northwind["archive"]) as archive:
        names = archive.getnames()
    assert "northwind/app/shop-the-look" in names and "northwind/install.sh" in names
    internal = {p.name for p in (app(built) / "_internal").iterdir()}
    assert not internal & {"torch", "torchvision", "ultralytics", "training", "cv2", "scipy"}
    assert northwind["app_bytes"] < 600e6, ("a training package, Qt's QML or a second copy "
                                            "of the models leaked in")
    print(f"\nbundle {northwind['app_bytes'] / 1e6:.0f} MB on disk, archive "
          f"{northwind['archive_bytes'] / 1e6:.0f} MB")


def test_the_bundle_ships_each_model_once_as_its_graph_optimised_by_its_onnxruntime(built):
    """Optimised at packaging (packager/optimize.py), not at each start on the shopper's
    machine, by the onnxruntime the bundle froze, and shipped in place of the model's own file
    (this onnxruntime runs on the CPU alone): each manifest describes its graph and names the
    file it was made from."""
    models = app(built) / "_internal" / "companion" / "models"
    assert not (models / "optimized").exists()
    manifests = sorted(models.glob("*/manifest.json"))
    assert len(manifests) == 7
    for path in manifests:
        shipped = json.loads(path.read_text())
        original = json.loads((REPO / "models" / path.parent.name / "manifest.json").read_text())
        assert [p.name for p in path.parent.glob("*.onnx")] == [shipped["file"]]
        made = shipped["provenance"]["optimized_from"]
        assert (made["file"], made["sha256"]) == (original["file"], original["sha256"])
        assert made["onnxruntime"] == version("onnxruntime") and made["level"] == "extended"
        assert shipped["sha256"] != original["sha256"]


def test_the_bundled_look_finds_what_the_development_install_finds(built, tmp_path):
    run = subprocess.run([str(app(built) / "shop-the-look"), "look", str(PHOTO), "--json",
                          "--top-k", "5"], capture_output=True, text=True, timeout=180,
                         env=outside(tmp_path / "home"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    bundled = json.loads(run.stdout)
    assert bundled["items"] and essence(bundled) == essence(development_look(bundled_index(built)))


def test_the_bundled_serve_answers_ping_then_a_paired_look(built, tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [str(app(built) / "shop-the-look"), "serve", "--no-panel", "--port", str(port),
         "--auto-approve-pairing"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=outside(tmp_path / "home"), cwd=tmp_path)
    try:
        started, pings = time.monotonic(), []
        while not (pings and pings[-1]["ready"]) and time.monotonic() - started < 120:
            try:
                pings.append(request(port, "GET", "/v1/ping", timeout=5).json)
            except OSError:
                time.sleep(0.05)
        print(f"\nbundled serve: ready {time.monotonic() - started:.1f} s after launch")
        assert pings and pings[-1]["ready"] and pings[0]["app"] == "shop-the-look"
        token = request(port, "POST", "/v1/pair", b'{"code": "864209"}', {
            "Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"}).json["token"]
        answer = request(port, "POST", "/v1/looks?top_k=5", PHOTO.read_bytes(),
                         authorised(token, **{"Content-Type": "image/jpeg"}))
        assert answer.status == 200, answer.raw
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "(7 of 7 from graphs optimised at build time)" in output, output
    assert essence(answer.json) == essence(development_look(bundled_index(built)))
    pairings = tmp_path / "home" / ".config" / "northwind-look" / "pairings.json"
    assert EXTENSION_ORIGIN in pairings.read_text(), "the brand's own settings folder"


def test_the_bundled_doctor_checks_the_bundle(built, tmp_path):
    run = subprocess.run([str(app(built) / "shop-the-look"), "doctor", "--json", "--port",
                          str(free_port())], capture_output=True, text=True, timeout=120,
                         env=outside(tmp_path / "home"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert "for Northwind Threads" in report["about"] and "installed bundle" in report["about"]
    statuses = {(c["topic"], c["status"]) for c in report["checks"]}
    assert ("catalog", "ok") in statuses and ("model", "fail") not in statuses
    (catalog,) = [c for c in report["checks"] if c["topic"] == "catalog"]
    assert "600 products" in catalog["detail"]
    models = [c for c in report["checks"] if c["topic"] == "model"]
    assert len(models) == 7 and {c["status"] for c in models} == {"ok"}
    assert all(c["detail"].endswith("the original is not shipped") for c in models), models


def tree(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*")
            if p.is_file() and not p.is_symlink()}


def test_two_brands_differ_only_in_name_icons_colours_catalog_and_port(built):
    northwind, default = tree(app(built)), tree(app(built, "default"))
    catalogs = {p for p in {*northwind, *default} if p.startswith(
        "_internal/companion/indexes/catalog/")}
    assert set(northwind) - catalogs == set(default) - catalogs
    differ = {p for p in set(northwind) - catalogs
              if northwind[p].read_bytes() != default[p].read_bytes()}
    assert differ == BRANDED
    brands = [json.loads(files["_internal/companion/brand.json"].read_text())
              for files in (northwind, default)]
    assert {k for k in brands[0] if brands[0][k] != brands[1][k]} == BRAND_FIELDS
    assert (brands[0]["port"], brands[1]["port"]) == (17411, 17317)
    zips = {b: zipfile.ZipFile(built[b]["extension_zips"]["chrome"]) for b in ("northwind",
                                                                              "default")}
    names = {b: set(z.namelist()) for b, z in zips.items()}
    assert names["northwind"] == names["default"]
    changed = {n for n in names["default"]
               if zips["northwind"].read(n) != zips["default"].read(n)}
    assert changed == {"manifest.json", "utils/brand.js", "_locales/en/messages.json",
                       "_locales/el/messages.json", *(f"icons/icon-{s}.png" for s in (16, 32, 48,
                                                                                     128))}
    scripts = {b: (built["out"] / b / "install.sh").read_text() for b in ("northwind", "default")}
    renamed = scripts["northwind"].replace("Northwind Threads", "Shop the Look").replace(
        "northwind-look", "shop-the-look")
    assert renamed == scripts["default"], "install.sh differs only in the name and the command"


def snapshot(home: Path) -> set[str]:
    return {p.relative_to(home).as_posix() + ("/" if p.is_dir() else "")
            for p in home.rglob("*")}


def test_install_and_uninstall_leave_nothing_behind(built, tmp_path):
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)  # a desktop user's HOME has this one already
    before = snapshot(home)
    with tarfile.open(built["northwind"]["archive"]) as archive:
        archive.extractall(tmp_path / "download", filter="tar")
    env = outside(home)
    run = subprocess.run(["sh", str(tmp_path / "download" / "northwind" / "install.sh"),
                          "--autostart"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    share = home / ".local" / "share"
    entry = (share / "applications" / "northwind-look.desktop").read_text()
    assert "Name=Northwind Threads" in entry and re.search(r'^Exec=".*shop-the-look" serve$',
                                                            entry, re.MULTILINE)
    assert (home / ".config" / "autostart" / "northwind-look.desktop").is_file()
    command = home / ".local" / "bin" / "northwind-look"
    installed = subprocess.run([str(command), "look", str(PHOTO), "--json", "--top-k", "1"],
                               capture_output=True, text=True, env=env, timeout=180)
    assert installed.returncode == 0 and json.loads(installed.stdout)["items"], installed.stderr
    (home / ".config" / "northwind-look").mkdir()  # what pairing a browser would make
    (home / ".config" / "northwind-look" / "pairings.json").write_text("{}")
    run = subprocess.run(["sh", str(share / "northwind-look" / "uninstall.sh")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert snapshot(home) == before


def test_a_build_without_the_detector_finds_garments_from_keypoints(built, small_index_dir,
                                                                     tmp_path):
    """garment_finder = "keypoints": the detector trained with AGPL code is left out of the
    bundle, and looks find garments from body keypoints (the runtime is reused: seconds)."""
    brand = Path(shutil.copytree(REPO / "brands" / "default", tmp_path / "brands" / "lean"))
    toml = (brand / "brand.toml").read_text()
    for old, new in (('"../../', f'"{REPO}/'), ('command = "shop-the-look"', 'command = "lean"'),
                     ("port = 17317", "port = 17499"),
                     ('garment_finder = "detector"', 'garment_finder = "keypoints"')):
        assert old in toml, old
        toml = toml.replace(old, new)
    (brand / "brand.toml").write_text(toml)
    run = subprocess.run([str(REPO / "scripts" / "package.sh"), str(brand), "--out",
                          str(built["out"]), "--work", str(built["out"].parent / "build"),
                          "--index", str(small_index_dir), "--no-archive"], cwd=REPO,
                         capture_output=True, text=True, timeout=PACKAGE_TIMEOUT_S)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    models = app(built, "lean") / "_internal" / "companion" / "models"
    assert not (models / "garment-detector").exists() and (models / "movenet-multipose").is_dir()
    shipped = {p.parent.name: json.loads(p.read_text()) for p in models.glob("*/manifest.json")}
    assert "garment-detector" not in shipped
    assert shipped["movenet-multipose"]["provenance"]["optimized_from"]["level"] == "extended"
    env = outside(tmp_path / "home")
    look = subprocess.run([str(app(built, "lean") / "shop-the-look"), "look", str(PHOTO),
                           "--json"], capture_output=True, text=True, timeout=180, env=env)
    assert look.returncode == 0, look.stderr
    assert {"topwear", "bottomwear"} <= {i["category"] for i in json.loads(look.stdout)["items"]}
    doctor = subprocess.run([str(app(built, "lean") / "shop-the-look"), "doctor", "--port",
                             str(free_port())], capture_output=True, text=True, timeout=120,
                            env=env)
    assert doctor.returncode == 0 and "garment-detector" not in doctor.stdout, doctor.stdout


@pytest.mark.panel
def test_the_bundled_window_opens_with_the_brands_name_on_a_first_run(
        built, display, tmp_path):  # noqa: F811  (the Xvfb fixture imported above)
    if shutil.which("xwininfo") is None:
        pytest.skip("xwininfo missing (apt-get install x11-utils; scripts/setup.sh --test)")
    port = free_port()
    env = outside(tmp_path / "home", DISPLAY=display)
    process = subprocess.Popen([str(app(built) / "shop-the-look"), "serve", "--port", str(port)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        started, titles = time.monotonic(), ""
        while "Northwind Threads" not in titles and time.monotonic() - started < 90:
            time.sleep(0.5)
            titles = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True,
                                    text=True, env={**os.environ, "DISPLAY": display}).stdout
        assert '"Northwind Threads"' in titles, "the window, mapped, with the brand's title"
        assert request(port, "GET", "/v1/ping", timeout=5).status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "Results open in the companion window" in output, output
