"""Index-build throughput with product photos on disk and on a loopback HTTP CDN.

    python -m benchmarks.bench_build                      # 1000 products by photo, 200 by garment
    python -m benchmarks.bench_build --photo 9267 --garment 0

For each mode (``--index-by photo``: whole photos; ``garment``: MoveNet + the garment detector
first) it builds the same products three times: photos read from disk, photos downloaded over
HTTP into an empty cache, and again with the cache filled (a refresh: every photo answered 304).
It also times the download alone. The CDN (tests/support/image_server.py) runs in a process of
its own on 127.0.0.1, sharing the machine's cores with the build as a local server must. Models
are loaded and warmed up before any clock starts; images/s counts indexed products over the
whole build (feed, downloads, decoding, embedding, writing the index).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from companion.catalog.build import build_index
from companion.catalog.download import ImageCache, download_images
from companion.catalog.views import ProductViews
from companion.inference.embedder import Embedder
from companion.inference.session import pick_providers
from companion.inference.store import ModelStore
from training.data import data_root


def write_feeds(source: Path, folder: Path, count: int, base_url: str) -> tuple[Path, Path]:
    """The first ``count`` products of ``source`` twice: image_link on disk, and on the CDN."""
    lines = source.read_text(encoding="utf-8").splitlines()[: count + 1]
    column = lines[0].split("\t").index("image_link")
    local, remote = [lines[0]], [lines[0]]
    for line in lines[1:]:
        cells = line.split("\t")
        name = Path(cells[column]).name
        cells[column] = str(source.parent / "images" / name)
        local.append("\t".join(cells))
        cells[column] = f"{base_url}/img/{name}"
        remote.append("\t".join(cells))
    (folder / "local.tsv").write_text("\n".join(local) + "\n", encoding="utf-8")
    (folder / "remote.tsv").write_text("\n".join(remote) + "\n", encoding="utf-8")
    return folder / "local.tsv", folder / "remote.tsv"


def cpu_s() -> float:
    """CPU seconds of this process so far, every thread (ONNX Runtime's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build(feed: Path, out: Path, embedder: Embedder,
          views: ProductViews | None) -> tuple[float, float]:
    """(images/s, CPU ms per image) of one build."""
    cpu = cpu_s()
    report = build_index(feed, out, embedder, views=views, show_progress=False)
    assert not report.problems, report.problems[:3]
    return report.indexed / report.seconds, (cpu_s() - cpu) * 1000 / report.indexed


def bench_mode(name: str, count: int, repeat: int, data: Path, base_url: str, work: Path,
               embedder: Embedder, views: ProductViews | None) -> None:
    """Disk, HTTP into an empty cache, HTTP with the cache full, ``repeat`` times in turn (so a
    change in the machine's load falls on all three alike); medians."""
    folder = work / name
    folder.mkdir()
    local, remote = write_feeds(data / "catalog" / "feed.tsv", folder, count, base_url)
    runs: dict[str, list[tuple[float, float]]] = {"disk": [], "cold": [], "304s": []}
    for i in range(repeat):
        runs["disk"].append(build(local, folder / f"disk-{i}", embedder, views))
        runs["cold"].append(build(remote, folder / f"http-{i}", embedder, views))
        runs["304s"].append(build(remote, folder / f"http-{i}", embedder, views))  # cache full
    lines = remote.read_text(encoding="utf-8").splitlines()
    column = lines[0].split("\t").index("image_link")
    urls = [line.split("\t")[column] for line in lines[1:]]
    started = time.monotonic()
    download_images(urls, ImageCache(folder / "download-only"))
    downloads = len(urls) / (time.monotonic() - started)
    rates = {kind: statistics.median(r for r, _ in found) for kind, found in runs.items()}
    cpus = {kind: statistics.median(c for _, c in found) for kind, found in runs.items()}
    cells = " | ".join(f"{rates[k]:6.1f} ({rates[k] / rates['disk']:4.0%}) {cpus[k]:5.1f} ms"
                       for k in runs)
    print(f"| {name:7} | {count:5} | {cells} | {downloads:6.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=data_root(),
                        help="folder holding catalog/ (default: %(default)s)")
    parser.add_argument("--photo", type=int, default=1000, help="products to build by photo")
    parser.add_argument("--garment", type=int, default=200, help="products to build by garment")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each build (medians)")
    args = parser.parse_args()
    store = ModelStore()
    embedder = Embedder(store)
    views = ProductViews(store) if args.garment else None
    server = subprocess.Popen([sys.executable, "-m", "tests.support.image_server",
                               str(args.data / "catalog" / "images")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            warm_up = work / "warm-up"
            warm_up.mkdir()
            local, _ = write_feeds(args.data / "catalog" / "feed.tsv", warm_up, 16, base_url)
            build(local, warm_up / "index", embedder, views)  # load and warm every model
            print(f"providers: {', '.join(pick_providers())}; cores: {os.cpu_count()}; "
                  f"load average {os.getloadavg()[0]:.1f} before")
            print("images/s (share of disk's) and the build's CPU time per image, medians; "
                  "download-only: images/s of the download step alone")
            print("| mode    | count | disk                      | HTTP, empty cache         "
                  "| HTTP, every photo a 304   | download-only |")
            print("|---------|-------|---------------------------|---------------------------"
                  "|---------------------------|---------------|")
            if args.photo:
                bench_mode("photo", args.photo, args.repeat, args.data, base_url, work,
                           embedder, None)
            if args.garment:
                bench_mode("garment", args.garment, args.repeat, args.data, base_url, work,
                           embedder, views)
            print(f"load average {os.getloadavg()[0]:.1f} after")
    finally:
        server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    main()
