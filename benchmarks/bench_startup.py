"""Where a server's start goes: each phase of what ``serve`` does before it is ready, timed in a
fresh process, in the order serve does it. Medians of several processes.

    python -m benchmarks.bench_startup                        # 5 processes
    python -m benchmarks.bench_startup --optimized none       # without optimised graphs

Phases: the interpreter and the command line's imports (``companion.cli``), the server's
imports (aiohttp, the pipeline), opening the catalog, building the pipeline (which loads the
embedder, the detector and the body model, one after the other), then the warm-up (the other
models, two at a time; a decode; a search per category). Each model's own load (its sha256 and
its session) is given too, from the store. Wall and CPU milliseconds (CPU of every thread: on a
shared machine the CPU time moves less than the clock).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Nothing of the companion is imported at the top: a child process times its imports itself.
REPO = Path(__file__).resolve().parent.parent
OPTIMIZED = REPO / "build" / "optimized"  # python -m packager.optimize
GRAPHS_HELP = ("optimised graphs for this checkout: a folder, 'none', or 'build' (the default: "
               "build/optimized, first brought up to date with models/ by packager.optimize)")


def graphs_env(choice: str) -> dict[str, str]:
    """The environment that points a checkout's companion at optimised graphs (``choice``: see
    GRAPHS_HELP); empty for 'none'."""
    from companion.inference.optimized import OPTIMIZED_ENV
    from packager.optimize import optimize_models

    if choice == "none":
        return {}
    if choice == "build":
        names = sorted(p.parent.name for p in (REPO / "models").glob("*/manifest.json"))
        optimize_models(REPO / "models", names, OPTIMIZED)  # seconds when nothing changed
        choice = str(OPTIMIZED)
    return {OPTIMIZED_ENV: choice}


def child(index: Path) -> dict[str, float]:
    """One start's phases (run in a fresh process)."""
    phases: dict[str, float] = {}
    clock = [time.perf_counter(), time.process_time()]

    def phase(name: str) -> None:
        now = [time.perf_counter(), time.process_time()]
        phases[f"{name} ms"] = (now[0] - clock[0]) * 1e3
        phases[f"{name} cpu"] = (now[1] - clock[1]) * 1e3
        clock[:] = now

    import companion.cli  # noqa: F401  (onnxruntime and numpy first)

    phase("imports: companion.cli")
    from companion.catalog.catalogs import Catalogs
    from companion.inference.model import InferenceModel
    from companion.inference.store import ModelStore
    from companion.server import runner  # noqa: F401  aiohttp and the server's modules
    from companion.server.pipelines import brand_pipeline
    from companion.server.warmup import warm_up_pipeline

    phase("imports: the server")
    catalogs = Catalogs.open([index])
    phase("catalog opened")
    store = ModelStore()
    pipeline = brand_pipeline(store, catalogs)
    phase("pipeline built (3 models)")
    warm_up_pipeline(pipeline)
    phase("warm-up (4 models, decode, searches)")
    for model in vars(pipeline).values():
        if isinstance(model, InferenceModel):
            loaded = model.load()
            phases[f"  load {model.name} ms"] = loaded.load_ms
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes (default: 5)")
    parser.add_argument("--index", type=Path, default=None, help="default: the demo index")
    parser.add_argument("--optimized", default="build", metavar="DIR", help=GRAPHS_HELP)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.index)))
        return
    from companion.inference.optimized import OPTIMIZED_ENV
    from companion.paths import default_index_dir

    index = (args.index or default_index_dir()).resolve()
    env = {**{k: v for k, v in os.environ.items() if k != OPTIMIZED_ENV},
           **graphs_env(args.optimized)}
    runs = []
    for _ in range(args.runs):
        began = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_startup", "--child",
                              "--index", str(index)], capture_output=True, text=True,
                             check=True, env=env).stdout
        runs.append({**json.loads(out.splitlines()[-1]),
                     "whole process ms": (time.perf_counter() - began) * 1e3})
    print(f"load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}; medians of "
          f"{args.runs} processes; optimised graphs: {env.get(OPTIMIZED_ENV, 'none')}")
    for key in runs[0]:
        if key.endswith(" cpu"):
            continue
        wall = statistics.median(r[key] for r in runs)
        cpu_key = key.replace(" ms", " cpu")
        cpu = f"  cpu {statistics.median(r[cpu_key] for r in runs):6.0f}" if cpu_key in runs[0] \
            else ""
        print(f"  {key[:-3]:42s} {wall:6.0f} ms{cpu}")


if __name__ == "__main__":
    main()
