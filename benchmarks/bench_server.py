"""The companion as a server: cold start to the first look, resident memory with every model
loaded, and looks that arrive two at a time. Medians of one run.

    python -m benchmarks.bench_server                              # this checkout
    python -m benchmarks.bench_server --baseline-repo /tmp/base    # and an older tree, in turn

This checkout's serve loads the graphs ``packager.optimize`` saves in build/optimized (brought
up to date first), as a bundle does its own (companion/inference/optimized.py); ``--optimized
none`` times it without them.

Each tree runs a real ``serve --no-panel`` (benchmarks.served) started ``--starts`` times:
launch to ready (models loaded and warmed up) and to the first look's answer, and VmRSS after
a look at every street photo (every model loaded, CenterNet's included when a photo needs it).
Then, in the last start, each photo is looked at alone and then twice at once (two clients,
the same photo): each look's own time from sending to its answer. The server runs one look at a
time, so the second of a pair waits for the first: the pair's mean is about 1.5× a look alone,
and the median over photos of unequal cost more. Printed beside it: the ratio a server that
adds nothing to one-at-a-time would give on the same photos, and the median over photos of each
pair's mean against that photo alone. Take 10 photos or more: the tenth street test photo is
the first that needs CenterNet, so fewer leave a model out of the resident memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.bench_startup import GRAPHS_HELP, graphs_env
from benchmarks.served import Served, add_tree_options, serve, setup_of
from companion.inference.optimized import OPTIMIZED_ENV


def one_start(tree: Path, index: Path, photos: list[Path], pairs: bool,
              env: dict[str, str] | None = None) -> dict[str, float]:
    launched = time.perf_counter()
    with serve(tree, index, extra_env=env) as server:
        first = server.look(photos[0].read_bytes())
        first_look_s = time.perf_counter() - launched
        result = {"ready_s": server.ready_s, "first_look_s": first_look_s,
                  "first_look_ms": first * 1e3}
        for photo in photos:
            server.look(photo.read_bytes())
        result["rss_mb"] = server.rss_mb()
        if pairs:
            result.update(concurrent(server, photos))
    return result


def concurrent(server: Served, photos: list[Path]) -> dict[str, float]:
    """Median ms of a look alone, and of each look of two sent at once; and what a server that
    runs one look at a time, with no cost of its own, would give for the same photos."""
    alone, paired, per_photo = [], [], []
    with ThreadPoolExecutor(2) as clients:
        for photo in photos:
            data = photo.read_bytes()
            alone.append(server.look(data))
            pair = list(clients.map(server.look, [data, data]))
            paired.extend(pair)
            per_photo.append(statistics.mean(pair) / alone[-1])
    single, double = statistics.median(alone) * 1e3, statistics.median(paired) * 1e3
    return {"alone_ms": single, "two_at_once_ms": double, "ratio": double / single,
            "one_at_a_time_ratio": one_at_a_time_ratio(alone),
            "per_photo_ratio": statistics.median(per_photo)}


def one_at_a_time_ratio(alone: list[float]) -> float:
    """The two-at-once ratio of a server that runs one look at a time at no cost of its own:
    of each pair, the first look takes its time alone and the second twice that. On photos of
    unequal cost the median of those looks is more than 1.5× the median alone (most street
    photos are quick and a few slow), so this is the floor the measured ratio is read against."""
    ideal = alone + [2 * t for t in alone]
    return statistics.median(ideal) / statistics.median(alone)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_tree_options(parser)
    parser.add_argument("--starts", type=int, default=3, help="cold starts per tree")
    parser.add_argument("--optimized", default="build", metavar="DIR", help=GRAPHS_HELP)
    args = parser.parse_args()
    setup = setup_of(args)
    photos, index, trees = setup.photos, setup.index, setup.trees
    env = graphs_env(args.optimized)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for start in range(args.starts):
        for name, tree in trees.items():
            runs[name].append(one_start(tree, index, photos, pairs=start == args.starts - 1,
                                        env=env if name == "this" else None))
    print(f"load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}; {len(photos)} street "
          f"photos; medians of {args.starts} starts; this checkout's optimised graphs: "
          f"{env.get(OPTIMIZED_ENV, 'none')}")
    for name, starts in runs.items():
        med = {k: statistics.median(s[k] for s in starts if k in s) for k in starts[0]}
        last = starts[-1]
        print(f"{name}: launch to ready {med['ready_s']:.2f} s, to the first look's answer "
              f"{med['first_look_s']:.2f} s (that look {med['first_look_ms']:.0f} ms); "
              f"resident {med['rss_mb']:.0f} MB; a look alone {last['alone_ms']:.0f} ms, "
              f"each of two at once {last['two_at_once_ms']:.0f} ms "
              f"({last['ratio']:.2f}×; one look at a time at no cost: "
              f"{last['one_at_a_time_ratio']:.2f}×; a pair's mean over the same photo alone, "
              f"median of the photos: {last['per_photo_ratio']:.2f}×)")


if __name__ == "__main__":
    main()
