"""How good a neighbour the companion is between looks: what a look leaves behind for the
shopper's other programs. Medians of one run.

    python -m benchmarks.bench_neighbour                              # this checkout
    python -m benchmarks.bench_neighbour --baseline-repo /tmp/base    # and an older one, in turn

``--baseline-repo``: a ``git worktree add /tmp/base <commit>`` of the companion to compare with
(its own code and models). Each tree runs a real ``serve --no-panel`` (benchmarks.served); both
are up at once, and the photos go to each in turn, so both see the same moments of a shared
machine. After each look this process times a 768×768 float32 matrix product (numpy, its own
threads) straight away, the way a browser's script would meet the companion, and reads the
server's CPU time (/proc/<pid>/stat: every thread) over the first 0.3 s after the look and the
rest of ``--idle`` seconds (100 % is one core).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import ExitStack

import numpy as np

from benchmarks.served import Served, add_tree_options, serve, setup_of

SIDE = 768
FIRST_S = 0.3  # the moment right after a look, when spinning threads would still be busy


def matmul_ms(a: np.ndarray, b: np.ndarray) -> float:
    began = time.perf_counter()
    a @ b
    return (time.perf_counter() - began) * 1e3


def after_look(server: Served, data: bytes, a: np.ndarray, b: np.ndarray, idle_s: float
               ) -> dict[str, float]:
    """One look, then the matrix product at once, then the server's CPU share in the first
    ``FIRST_S`` seconds after the look (the product's time included) and in the rest of
    ``idle_s``."""
    look_s = server.look(data)
    returned = time.perf_counter()
    cpu = [server.cpu_s()]
    product = matmul_ms(a, b)
    time.sleep(max(0.0, FIRST_S - (time.perf_counter() - returned)))
    cpu.append(server.cpu_s())
    time.sleep(idle_s - FIRST_S)
    cpu.append(server.cpu_s())
    return {"look_ms": look_s * 1e3, "matmul_ms": product,
            "first_cpu_pct": (cpu[1] - cpu[0]) / FIRST_S * 100,
            "idle_cpu_pct": (cpu[2] - cpu[1]) / (idle_s - FIRST_S) * 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_tree_options(parser)
    parser.add_argument("--idle", type=float, default=2.0, help="seconds of idle CPU per look")
    args = parser.parse_args()
    setup = setup_of(args)
    photos = setup.photos
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((SIDE, SIDE), dtype=np.float32) for _ in range(2))
    for _ in range(5):
        matmul_ms(a, b)  # warm the BLAS threads
    alone = statistics.median(matmul_ms(a, b) for _ in range(20))
    with ExitStack() as stack:
        servers = {name: stack.enter_context(serve(tree, setup.index))
                   for name, tree in setup.trees.items()}
        for server in servers.values():
            server.look(photos[0].read_bytes())  # first look: caches, lazily loaded models
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        for photo in photos:
            data = photo.read_bytes()
            for name, server in servers.items():
                rows[name].append(after_look(server, data, a, b, args.idle))
    after = statistics.median(matmul_ms(a, b) for _ in range(20))
    print(f"load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"{len(photos)} street photos; medians")
    print(f"{SIDE}x{SIDE} matrix product with no look before it: {alone:.1f} ms "
          f"(at the start), {after:.1f} ms (at the end)")
    print(f"{'tree':<10} {'look ms':>9} {'product after it, ms':>21} "
          f"{'server CPU % first 0.3 s':>25} {'then, idle':>11}")
    for name, values in rows.items():
        medians = {k: statistics.median(v[k] for v in values) for k in values[0]}
        print(f"{name:<10} {medians['look_ms']:9.1f} {medians['matmul_ms']:21.1f} "
              f"{medians['first_cpu_pct']:25.1f} {medians['idle_cpu_pct']:11.2f}")


if __name__ == "__main__":
    main()
