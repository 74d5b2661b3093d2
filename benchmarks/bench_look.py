"""Speed of a look, per pipeline step and per model, and of index builds; optionally against the
previous model set in the same run. Medians (and the total's 90th percentile) from one run.

    python -m benchmarks.bench_look                 # 30 street photos, 300-product build
    python -m benchmarks.bench_look --photos 100 --build 1000
    git worktree add /tmp/base <commit>            # then, the previous release side by side:
    python -m benchmarks.bench_look --baseline-models /tmp/base/models --baseline-spinning

Each model set runs in a worker process of its own (sessions, thread pools and caches apart),
loaded and warmed up first; the photos go to the workers in turn, one look each, alternating
which goes first, so both see the same moments of this shared machine and their ratio holds even
when its speed does not. Each photo's bytes are read before its clock starts, so the numbers are
the pipeline's own. ``--baseline-spinning`` gives the baseline the ONNX Runtime threads of
releases before spinning was turned off (its workers spin on for a moment into the other
worker's next look, which slows "this" a little: the ratio errs on the side of the old).
The per-model table times every ``session.run`` (input size: the first input's most common
shape; share: of the summed look totals). Index-build speed (this model set) includes decoding
product photos and writing the index.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.catalog.build import build_index
from companion.catalog.catalogs import Catalogs
from companion.inference.embedder import Embedder
from companion.inference.session import DEVICES, Threads, pick_providers, use_device
from companion.inference.store import ModelStore
from companion.paths import default_index_dir, models_dir
from companion.pipeline.look import LookPipeline
from training.data import data_root


@dataclass(frozen=True)
class ModelSet:
    """What one worker runs: a models folder and its sessions' threads."""

    name: str
    models: Path
    threads: Threads = field(default_factory=Threads)
    device: str = "cpu"


@dataclass
class Runs:
    """One model set's looks: per step, the totals, and every session run of every model."""

    steps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, list[tuple[tuple, float]]] = field(
        default_factory=lambda: defaultdict(list))

    def add(self, timings: dict[str, float], calls: list[tuple[str, tuple, float]]) -> None:
        for step, ms in timings.items():
            self.steps[step].append(ms)
        for model, shape, ms in calls:
            self.calls[model].append((shape, ms))

    @property
    def totals(self) -> list[float]:
        return self.steps["total"]


def worker(model_set: ModelSet, index: Path, first: Path, pipe) -> None:
    """Load ``model_set``, warm it up on ``first``, then answer each photo path sent with its
    look's step timings and session runs; None stops it."""
    calls: list[tuple[str, tuple, float]] = []

    def observe(model: str, feeds: dict, ms: float) -> None:
        calls.append((model, tuple(next(iter(feeds.values())).shape), ms))

    use_device(model_set.device)
    store = ModelStore(model_set.models, model_set.threads, on_run=observe)
    pipeline = LookPipeline(store, Catalogs.open([index]))
    pipeline.run(first.read_bytes())  # load sessions, warm caches
    pipe.send(pipeline.embedder.name)
    while (photo := pipe.recv()) is not None:
        data = Path(photo).read_bytes()
        calls.clear()
        timings = pipeline.run(data).timings_ms
        pipe.send((timings, list(calls)))


def bench_looks(model_sets: list[ModelSet], index: Path, photos: list[Path]) -> dict[str, Runs]:
    """Every photo through every model set's worker, in turn."""
    context = multiprocessing.get_context("spawn")
    workers = {}
    for model_set in model_sets:
        ours, theirs = context.Pipe()
        process = context.Process(target=worker, args=(model_set, index, photos[0], theirs))
        process.start()
        workers[model_set.name] = (process, ours)
    try:
        for _, pipe in workers.values():
            pipe.recv()  # loaded and warmed up
        runs = {name: Runs() for name in workers}
        order = list(workers)
        for number, photo in enumerate(photos):
            for name in order if number % 2 == 0 else order[::-1]:
                pipe = workers[name][1]
                pipe.send(str(photo))
                runs[name].add(*pipe.recv())
        return runs
    finally:
        for process, pipe in workers.values():
            pipe.send(None)
            process.join(30)


def model_table(runs: Runs, looks: int) -> list[tuple[str, str, float, float, float, float]]:
    """(model, input shape, median ms per call, calls per look, ms per look, share of the look)
    for each model, most expensive first."""
    total = sum(runs.totals)
    rows = []
    for model, calls in runs.calls.items():
        shape = Counter(s for s, _ in calls).most_common(1)[0][0]
        times = [ms for _, ms in calls]
        rows.append((model, "x".join(map(str, shape)), statistics.median(times),
                     len(calls) / looks, sum(times) / looks, sum(times) / total))
    return sorted(rows, key=lambda row: -row[4])


def report(runs: dict[str, Runs], looks: int) -> None:
    names = list(runs)
    print(f"look, median ms per step over {looks} street photos; (N): the step ran on N photos "
          f"only; load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"  {'step':<10}" + "".join(f"{name:>14}" for name in names))
    steps = list(dict.fromkeys(s for r in runs.values() for s in r.steps))
    for step in [s for s in steps if s != "total"] + ["total"]:
        cells = []
        for name in names:
            values = runs[name].steps.get(step, [])
            note = f" ({len(values)})" if len(values) != looks else ""
            cells.append(f"{statistics.median(values):.1f}{note}" if values else "-")
        print(f"  {step:<10}" + "".join(f"{c:>14}" for c in cells))
    p90 = {name: float(np.percentile(r.totals, 90)) for name, r in runs.items()}
    print(f"  {'total p90':<10}" + "".join(f"{p90[n]:14.1f}" for n in names))
    if len(names) == 2:
        new, old = (statistics.median(runs[n].totals) for n in names)
        print(f"  total p50 {names[0]} / {names[1]}: {new / old:.3f}; "
              f"p90: {p90[names[0]] / p90[names[1]]:.3f}")
    for name in names:
        print(f"\nper model ({name}): input, median ms per call, calls per look, ms per look, "
              "share of the look")
        for model, shape, ms, calls, per_look, share in model_table(runs[name], looks):
            print(f"  {model:<18} {shape:>16} {ms:8.1f} {calls:6.2f} {per_look:8.1f} "
                  f"{share:6.1%}")


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
    parser.add_argument("--build", type=int, default=300, help="products to index (0: none)")
    parser.add_argument("--models", type=Path, default=models_dir(), help="default: %(default)s")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: ORT's)")
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="this model set's device (the baseline's stays the CPU)")
    parser.add_argument("--baseline-models", type=Path,
                        help="a previous models folder to time in the same run")
    parser.add_argument("--baseline-spinning", action="store_true",
                        help="the baseline's ONNX Runtime threads spin between runs, as before")
    args = parser.parse_args()
    street = args.data / "street"
    photos = [street / "images" / n for n in (street / "test.txt").read_text().split()]
    photos = photos[: args.photos]
    index = args.index or default_index_dir()
    model_sets = [ModelSet("this", args.models, Threads(args.threads), args.device)]
    if args.baseline_models:
        model_sets.append(ModelSet("baseline", args.baseline_models,
                                   Threads(args.threads, spinning=args.baseline_spinning)))
    print(f"providers ({args.device}): {', '.join(pick_providers(args.device))}; models: "
          + "; ".join(f"{m.name} {m.models}{' (spinning)' if m.threads.spinning else ''}"
                      for m in model_sets))
    report(bench_looks(model_sets, index, photos), len(photos))
    if args.build:
        rate = bench_build(ModelStore(args.models, args.threads), args.data / "catalog" /
                           "feed.tsv", args.build)
        print(f"index build: {rate:.1f} images/s ({args.build} catalog products)")


if __name__ == "__main__":
    main()
