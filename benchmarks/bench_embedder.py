"""Speed of an embedder per garment crop, per step (letterbox, tensor, model). Medians of one run.

    python -m benchmarks.bench_embedder                   # the default embedder, batches of 32
    python -m benchmarks.bench_embedder --embedder nanodet-embedder --batch 1
    python -m benchmarks.bench_embedder --models runs/old-models    # another export

(From the repository root: the street labels are read with the training package's reader.)

The crops are the labelled garment regions of street test photos (what a look embeds), cut out
before any clock starts. The session is created and warmed up first. "embed" is one call of
`Embedder.predict`, which does the three steps; each figure is milliseconds per crop.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from companion.inference.embedder import DEFAULT_EMBEDDER, Embedder
from companion.inference.preprocess import to_model_input
from companion.inference.session import pick_providers
from companion.inference.store import ModelStore
from companion.pipeline.imaging import crop
from training.data import data_root
from training.data.street import load_street
from training.pixels import read_rgb


def garment_crops(street: Path, photos: int) -> list[np.ndarray]:
    """The garment regions of the first `photos` street test photos, as RGB arrays."""
    crops = []
    for image in load_street(street, "test")[:photos]:
        pixels = read_rgb(image.path)
        crops.extend(crop(pixels, garment.box) for garment in image.garments)
    return crops


def bench(embedder: Embedder, crops: list[np.ndarray], batch: int,
          repeats: int) -> dict[str, float]:
    """Median ms per crop of each step over every full batch, `repeats` times."""
    model = embedder.load()
    spec = model.manifest.input
    embedder.predict(crops[:batch])  # session creation, allocations
    per_crop: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        for start in range(0, len(crops) - batch + 1, batch):
            chunk = crops[start : start + batch]
            ticks = [time.perf_counter()]
            squares = np.stack([embedder.square(c) for c in chunk])
            ticks.append(time.perf_counter())
            tensor = to_model_input(squares, spec)
            ticks.append(time.perf_counter())
            model.run({spec.name: tensor})
            ticks.append(time.perf_counter())
            embedder.predict(chunk)
            ticks.append(time.perf_counter())
            for step, begin, end in zip(("letterbox", "tensor", "model", "embed"), ticks[:-1],
                                        ticks[1:], strict=True):
                per_crop[step].append((end - begin) * 1000 / batch)
    return {step: statistics.median(v) for step, v in per_crop.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=data_root(),
                        help="folder holding street/ (default: %(default)s)")
    parser.add_argument("--embedder", default=DEFAULT_EMBEDDER, help="a model under --models")
    parser.add_argument("--models", type=Path, default=None,
                        help="models folder (default: the shipped models)")
    parser.add_argument("--photos", type=int, default=60, help="street test photos to cut from")
    parser.add_argument("--batch", type=int, default=32, help="crops per call (a look sends all "
                        "of its crops at once)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the crops")
    args = parser.parse_args()
    crops = garment_crops(args.data / "street", args.photos)
    embedder = Embedder(ModelStore(args.models), args.embedder)
    print(f"providers: {', '.join(pick_providers())}; embedder: {args.embedder}; "
          f"{len(crops)} garment crops, batches of {args.batch}")
    print("median ms per crop:")
    for step, ms in bench(embedder, crops, args.batch, args.repeats).items():
        print(f"  {step:<10} {ms:7.2f}")


if __name__ == "__main__":
    main()
