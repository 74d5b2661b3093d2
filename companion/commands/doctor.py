"""``shop-the-look doctor``: what works on this computer, and what to do about what does not.

Each check says ok, note (nothing broken, but a step is left: pairing) or fail, and every note
and failure says what to do next. Read-only: it loads one small model to see which processor
runs it, opens the catalog, probes the port and reads the pairings file, and changes nothing.
"""

from __future__ import annotations

import http.client
import json
import platform
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from companion import branding, paths
from companion.commands.device import add_device_option

OK, NOTE, FAIL = "ok", "note", "fail"
PROBE_MODEL = "blazeface"  # the smallest model: enough to see which provider starts


@dataclass(frozen=True)
class Check:
    topic: str
    status: str  # ok | note | fail
    detail: str
    fix: str = ""  # what to do next (notes and failures)


def register(commands) -> None:
    doctor = commands.add_parser(
        "doctor", help="check this installation: models, catalog, processor, port, window, "
        "pairing", description="Check what the companion needs, and say what to do about "
        "anything that is missing. Changes nothing.")
    doctor.add_argument("--index", type=Path, default=None, metavar="DIR",
                        help="catalog index folder to check (default: the one serve uses)")
    doctor.add_argument("--port", type=int, default=None, metavar="N",
                        help=f"port to check (default: {branding.current().port})")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    add_device_option(doctor)
    doctor.set_defaults(handler=run)


def run(args) -> int:
    """Print every check; 1 when any failed."""
    checks = [
        *check_device(), *check_models(), check_catalog(args.index or paths.default_index_dir()),
        check_port(args.port or branding.current().port), check_panel(), check_pairing(),
    ]
    if args.json:
        print(json.dumps({"about": about(), "checks": [asdict(c) for c in checks]}, indent=1))
    else:
        print(about())
        for check in checks:
            print(f"  {check.status:<5} {check.topic:<9} {check.detail}")
            if check.fix:
                print(f"  {'':<5} {'':<9} → {check.fix}")
        failures = sum(c.status == FAIL for c in checks)
        print("Everything the companion needs works." if not failures else
              f"{failures} problem(s): see the → lines above.")
    return 1 if any(c.status == FAIL for c in checks) else 0


def about() -> str:
    import onnxruntime

    from companion.server.handlers import app_version

    brand = branding.current()
    named = f" for {brand.name}" if brand.branded else ""
    frozen = ", installed bundle" if getattr(sys, "frozen", False) else ""
    return (f"{brand.command} {app_version()}{named} (Python {platform.python_version()}, "
            f"onnxruntime {onnxruntime.__version__}, {platform.system()} "
            f"{platform.machine()}{frozen})")


def check_device() -> list[Check]:
    import onnxruntime

    from companion.inference import session
    from companion.inference.store import ModelStore

    device = session.current_device()
    offered = ", ".join(onnxruntime.get_available_providers())
    try:
        ModelStore().get(PROBE_MODEL)
    except Exception as exc:  # the model check below says more
        return [Check("device", FAIL, f"{device}: no model could be loaded ({exc})",
                      "Reinstall: a model file is missing or damaged.")]
    probe = ModelStore().manifest(PROBE_MODEL).path.name  # a CPU bundle's: the graph's file
    used = session.providers_in_use().get(probe, "?")
    detail = f"{device} → {used} (this onnxruntime offers: {offered})"
    wanted = session.DEVICE_PROVIDERS.get(device)
    if device not in ("auto", "cpu") and used != wanted:
        return [Check("device", FAIL, detail, f"{wanted} could not start: "
                      f"{session.INSTALL_HINT[device]}, or use --device auto (the CPU works).")]
    return [Check("device", OK, detail)]


def check_models() -> list[Check]:
    from companion.errors import LookError
    from companion.inference.embedder import DEFAULT_EMBEDDER
    from companion.inference.manifest import verify_file
    from companion.inference.store import ModelStore

    store = ModelStore()
    needed = ["movenet-multipose", "centernet", "blazeface", "faceres", "body-gender",
              DEFAULT_EMBEDDER]
    if branding.current().garment_finder == "detector":
        needed.append("garment-detector")
    checks = []
    for name in sorted(set(needed) | set(store.available())):
        try:
            manifest = store.manifest(name)
            verify_file(manifest)
        except (LookError, OSError, ValueError) as exc:
            status = FAIL if name in needed else NOTE
            checks.append(Check("model", status, f"{name}: {getattr(exc, 'message', exc)}",
                                "Reinstall the companion (its model files are damaged)."))
            continue
        checks.append(shipped_as(manifest))
    return checks


def shipped_as(manifest) -> Check:
    """A model whose file matched its manifest: ok, with what the file is where a CPU bundle
    ships the model's optimised graph in place of the original; a note where that graph meets
    another onnxruntime or a GPU, for want of the original to fall back to."""
    from companion.inference import optimized, session

    detail = f"{manifest.name}: sha256 ok ({manifest.size_bytes / 1e6:.1f} MB)"
    made = optimized.origin(manifest)
    if made is None:
        return Check("model", OK, detail)
    detail += f", {made.describe()}"
    problem = made.foreign()
    if problem:
        return Check("model", NOTE, f"{detail}: {problem}", "Reinstall the companion (its "
                     "models and onnxruntime come together), or point SHOP_THE_LOOK_MODELS at "
                     "a folder of the models' own files.")
    if not session.only_cpu():
        return Check("model", NOTE, f"{detail}: the GPU runs this CPU graph as it is (what it "
                     "cannot run stays on the CPU)", "For the most of a GPU, use a GPU build "
                     "of the companion, which ships the models' own files.")
    return Check("model", OK, detail)


def check_catalog(directory: Path) -> Check:
    from companion.catalog.index import CatalogIndex
    from companion.errors import LookError
    from companion.inference.store import ModelStore

    try:
        index = CatalogIndex(directory)
    except LookError as exc:
        return Check("catalog", FAIL, exc.message, "Build it: shop-the-look index build FEED "
                     f"--out {directory} (or reinstall, for the catalog that ships).")
    products = sum(index.manifest.counts.values())
    embedder = ModelStore().manifest(index.manifest.embedder)
    detail = (f"{directory}: {products} products, version {index.version_id or 'flat'}, "
              f"built {index.manifest.built_at[:10]} with {index.manifest.embedder}")
    if embedder.embedding_sha256 != index.manifest.embedder_sha256:
        return Check("catalog", FAIL, detail + " (another version of it)",
                     "Rebuild the catalog with shop-the-look index build, so that it matches "
                     "this companion's embedder.")
    return Check("catalog", OK, detail + " (embedder matches)")


def check_port(port: int) -> Check:
    from companion.server.config import HOST

    try:
        with socket.create_server((HOST, port)):
            return Check("port", OK, f"{port} on {HOST} is free")
    except OSError:
        pass
    answer = _ping(port)
    if answer is not None and answer.get("app") == "shop-the-look":
        state = "ready" if answer.get("ready", True) else "starting"
        return Check("port", OK, f"{port}: a companion ({answer.get('version')}) already "
                     f"answers there, {state}")
    return Check("port", FAIL, f"{port} on {HOST} is taken by another program",
                 "Start the companion with --port N (a free port) and set the same port in "
                 "the extension's options.")


def check_panel() -> Check:
    from companion.panel import panel_available

    if panel_available():
        return Check("window", OK, "the results window can open (pywebview)")
    if getattr(sys, "frozen", False) or sys.platform.startswith("linux"):
        return Check("window", NOTE, "the results window cannot open here (no desktop "
                     "session, or the window toolkit is missing); results show in the browser",
                     "Start the companion from a desktop session for the results window.")
    return Check("window", NOTE, "the results window is not installed",
                 "pip install 'shop-the-look[panel]' for the results window.")


def check_pairing() -> Check:
    from companion.server.config import PAIRINGS_FILE
    from companion.server.pairing import PairingStore

    path = paths.config_dir() / PAIRINGS_FILE
    count = len(PairingStore(path))
    if count:
        return Check("pairing", OK, f"{count} browser(s) paired ({path})")
    return Check("pairing", NOTE, "no browser is paired yet",
                 "Start the companion, open the extension's options, press Pair and type the "
                 "code it shows into the companion.")


def _ping(port: int) -> dict | None:
    """The ping of whatever listens on ``port`` (straight to loopback: no proxy), or None."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/v1/ping", headers={"Host": f"127.0.0.1:{port}"})
        return json.loads(connection.getresponse().read())
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()
