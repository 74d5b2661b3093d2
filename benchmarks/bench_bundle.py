"""The packaged companion as a shopper meets it: bundle size on disk, cold start to ``ready``,
first and warm look. Run after ``scripts/package.sh brands/<name>``:

    python -m benchmarks.bench_bundle dist/northwind            # 3 starts, 10 warm looks
    python -m benchmarks.bench_bundle dist/northwind --runs 5 --json
    python -m benchmarks.bench_bundle dist/northwind --baseline /tmp/base/dist/northwind
    python -m benchmarks.bench_bundle dist/northwind --sizes     # sizes alone, part by part

Each start is the bundled ``serve --no-panel`` in a fresh HOME with the system's PATH, timed
from launch: to the first ``/v1/ping`` answer (the server listens) and to ``"ready": true``
(models loaded and warmed up). Then a paired look (the first, timed by the client) and warm
looks. ``look`` on the command line is timed too (launch to printed JSON: what a one-shot user
waits). Medians over the runs; the load average is printed, since this machine is shared.
With ``--baseline`` another bundle (an older release's) is started in turn with this one, start
for start, so both see the same moments of the machine. Sizes are bytes of regular files (links
not followed, as ``du --apparent-size``), in MB of 10^6 bytes, also part by part (``PARTS``:
docs/packaging.md's "Size" table).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from training.data import data_root

POLL_S = 0.02
QT = "_internal/PyQt6/Qt6/"
# (part, patterns of paths inside app/): a file counts in the first part that matches it.
PARTS = [
    ("Qt WebEngine's library (libQt6WebEngineCore)", [QT + "lib/libQt6WebEngineCore.so*"]),
    ("ICU for Qt (libicudata, libicuuc, libicui18n)", [QT + "lib/libicu*"]),
    ("Qt WebEngine's resources and locales", [QT + "resources/*", QT + "translations/*",
                                              QT + "libexec/*"]),
    ("other Qt libraries, plugins, PyQt6", ["_internal/PyQt6/*", "_internal/qtpy/*"]),
    ("models", ["_internal/companion/models/*"]),
    ("catalog index", ["_internal/companion/indexes/*"]),
    ("onnxruntime", ["_internal/onnxruntime/*"]),
    ("numpy and its OpenBLAS", ["_internal/numpy/*", "_internal/numpy.libs/*"]),
    ("Pillow", ["_internal/PIL/*", "_internal/pillow.libs/*"]),
    ("usearch, numkong", ["_internal/usearch/*", "_internal/numkong*"]),
    ("Python (libpython, extension modules, base_library.zip)",
     ["_internal/libpython*", "_internal/python3*", "_internal/base_library.zip"]),
    ("the executable (the companion's and packages' Python code)", ["shop-the-look"]),
    ("system libraries", ["_internal/*.so*", "_internal/*.chk"]),
]
ORIGIN = "chrome-extension://knhekecfkhfdgpmjaboemjdidiipffjc"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, help="dist/<name> (holding app/)")
    parser.add_argument("--runs", type=int, default=3, help="cold starts (default: 3)")
    parser.add_argument("--looks", type=int, default=10, help="warm looks per start")
    parser.add_argument("--photo", type=Path,
                        default=data_root() / "street" / "images" / "ccp_0003.jpg")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--baseline", type=Path, metavar="BUNDLE",
                        help="another bundle (dist/<name> of an older release), started in turn")
    parser.add_argument("--sizes", action="store_true",
                        help="sizes only, part by part (no starts)")
    args = parser.parse_args()
    bundles = [b.resolve() for b in (args.bundle, args.baseline) if b is not None]
    if args.sizes:
        report_sizes([sizes(bundle) | {"bundle": str(bundle)} for bundle in bundles], args.json)
        return
    runs: dict[Path, list[dict]] = {bundle: [] for bundle in bundles}
    for _ in range(args.runs):
        for bundle in bundles:
            program = bundle / "app" / "shop-the-look"
            runs[bundle].append({**start(program, args.photo, args.looks),
                                 "cli_look_s": cli_look(program, args.photo)})
    load = os.getloadavg()
    results = [summary(bundle, runs[bundle], load) for bundle in bundles]
    if args.json:
        print(json.dumps(results if args.baseline else results[0], indent=1))
        return
    for result in results:
        report(result, args.runs, args.looks)


def summary(bundle: Path, starts: list[dict], load: tuple[float, ...]) -> dict:
    """Sizes, the load average at the end, and the median of every timing over ``starts``."""
    result = {"bundle": str(bundle), "load_average": load, **sizes(bundle)}
    for key in starts[0]:
        result[key] = round(statistics.median(s[key] for s in starts), 3)
    return result


def report(result: dict, runs: int, looks: int) -> None:
    print(f"bundle {result['bundle']}: {result['app_mb']:.0f} MB on disk ({result['files']} files)"
          + (f", archive {result['archive_mb']:.0f} MB" if result.get("archive_mb") else ""))
    print(f"load average {', '.join(f'{v:.1f}' for v in result['load_average'])}; medians of "
          f"{runs} starts")
    print(f"  launch → listening   {result['listening_s']:.2f} s")
    print(f"  launch → ready       {result['ready_s']:.2f} s  (target ≤ 3 s)")
    print(f"  first look           {result['first_look_s']:.2f} s  (client side, once ready)")
    print(f"  launch → first look  {result['launch_to_first_look_s']:.2f} s  (its answer; "
          "pairing included)")
    print(f"  warm look            {result['warm_look_s']:.2f} s  (median of {looks})")
    print(f"  resident memory      {result['rss_mb']:.0f} MB  (after {looks + 1} looks)")
    print(f"  look on the command line, launch to JSON  {result['cli_look_s']:.2f} s")


def sizes(bundle: Path) -> dict:
    app = bundle / "app"
    files = [p for p in app.rglob("*") if p.is_file() and not p.is_symlink()]
    archives = list(bundle.parent.glob(f"{bundle.name}-linux-*.tar.gz"))
    parts = dict.fromkeys([name for name, _ in PARTS] + ["everything else"], 0)
    for path in files:
        inside = path.relative_to(app).as_posix()
        part = next((name for name, patterns in PARTS
                     if any(fnmatch.fnmatch(inside, pattern) for pattern in patterns)),
                    "everything else")
        parts[part] += path.stat().st_size
    return {"app_mb": sum(p.stat().st_size for p in files) / 1e6, "files": len(files),
            "archive_mb": archives[0].stat().st_size / 1e6 if archives else None,
            "parts_mb": {name: round(size / 1e6, 1) for name, size in parts.items()}}


def report_sizes(results: list[dict], as_json: bool) -> None:
    """Each bundle's size and its parts, side by side."""
    if as_json:
        print(json.dumps(results, indent=1))
        return
    print(" | ".join(["part (MB)", *(r["bundle"] for r in results)]))
    for part in results[0]["parts_mb"]:
        print(" | ".join([part, *(f"{r['parts_mb'][part]:.1f}" for r in results)]))
    print(" | ".join(["on disk", *(f"{r['app_mb']:.1f}" for r in results)]))
    print(" | ".join(["as .tar.gz", *(f"{r['archive_mb']:.1f}" if r["archive_mb"] else "-"
                                      for r in results)]))


def start(program: Path, photo: Path, looks: int) -> dict:
    """One cold start of the bundled serve: its timings in seconds."""
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        launched = time.monotonic()
        process = subprocess.Popen(
            [str(program), "serve", "--no-panel", "--port", str(port), "--auto-approve-pairing"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd=home)
        try:
            listening = ready = None
            while ready is None:
                answer = call(port, "GET", "/v1/ping")
                now = time.monotonic() - launched
                if answer is not None:
                    listening = listening or now
                    ready = now if answer["ready"] else None
                if now > 120 or process.poll() is not None:
                    raise RuntimeError("the bundled serve did not get ready")
                time.sleep(POLL_S)
            token = call(port, "POST", "/v1/pair", b'{"code": "246802"}',
                         {"Origin": ORIGIN, "Content-Type": "application/json"})["token"]
            headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN,
                       "Content-Type": "image/jpeg"}
            data = photo.read_bytes()
            times, answered = [], None
            for _ in range(looks + 1):
                began = time.monotonic()
                call(port, "POST", "/v1/looks", data, headers)
                times.append(time.monotonic() - began)
                answered = answered or time.monotonic() - launched
            rss_mb = resident_mb(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    return {"listening_s": listening, "ready_s": ready, "first_look_s": times[0],
            "launch_to_first_look_s": answered, "warm_look_s": statistics.median(times[1:]),
            "rss_mb": rss_mb}


def resident_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cli_look(program: Path, photo: Path) -> float:
    with tempfile.TemporaryDirectory() as home:
        began = time.monotonic()
        subprocess.run([str(program), "look", str(photo), "--json"], check=True,
                       capture_output=True, env={"HOME": home, "PATH": "/usr/bin:/bin"})
        return time.monotonic() - began


def call(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None) -> dict | None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        return json.loads(connection.getresponse().read())
    except (OSError, ValueError):
        return None
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
