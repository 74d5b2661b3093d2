"""Speed of a look, per pipeline step, and of index builds. Medians from one run.

    python -m benchmarks.bench_look                 # 30 street photos, 300-product build
    python -m benchmarks.bench_look --photos 100 --build 1000

Models are loaded and warmed up before timing; each photo's bytes are read before its clock
starts, so the numbers are the pipeline's own. Index-build speed includes decoding product
photos and writing the index.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

from companion.catalog.build import build_index
from companion.catalog.index import CatalogIndex
from companion.inference.embedder import Embedder
from companion.inference.session import pick_providers
from companion.inference.store import ModelStore
from companion.paths import default_index_dir
from companion.pipeline.look import LookPipeline
from training.data import data_root


def bench_looks(pipeline: LookPipeline, photos: list[Path]) -> dict[str, tuple[float, int]]:
    """Median ms of each step, and on how many photos the step ran (some run only when needed)."""
    pipeline.run(photos[0].read_bytes())  # load sessions, warm caches
    steps: dict[str, list[float]] = defaultdict(list)
    for photo in photos:
        data = photo.read_bytes()
        for step, ms in pipeline.run(data).timings_ms.items():
            steps[step].append(ms)
    return {step: (statistics.median(v), len(v)) for step, v in steps.items()}


def bench_build(store: ModelStore, feed: Path, count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        report = build_index(feed, Path(tmp) / "bench", Embedder(store), limit=count,
                             show_progress=False)
    return report.indexed / report.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=data_root(),
                        help="folder holding street/ and catalog/ (default: %(default)s)")
    parser.add_argument("--index", type=Path, default=None, help="default: the demo index")
    parser.add_argument("--photos", type=int, default=30, help="street test photos to look at")
    parser.add_argument("--build", type=int, default=300, help="products to index")
    args = parser.parse_args()
    street = args.data / "street"
    photos = [street / "images" / n for n in (street / "test.txt").read_text().split()]
    store = ModelStore()
    pipeline = LookPipeline(store, CatalogIndex(args.index or default_index_dir()))
    print(f"providers: {', '.join(pick_providers())}; embedder: {pipeline.embedder.name}")
    medians = bench_looks(pipeline, photos[: args.photos])
    print(f"look, median ms per step over {min(args.photos, len(photos))} street photos:")
    for step, (ms, runs) in medians.items():
        note = "" if runs == len(photos[: args.photos]) else f"  (ran on {runs} photos)"
        print(f"  {step:<10} {ms:8.1f}{note}")
    rate = bench_build(store, args.data / "catalog" / "feed.tsv", args.build)
    print(f"index build: {rate:.1f} images/s ({args.build} catalog products)")


if __name__ == "__main__":
    main()
