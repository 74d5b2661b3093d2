"""Accuracy of one models folder next to another's, by the project's own evaluation scripts: the
accuracy half of every speed trade (an int8 model, another input size) before it is installed.

    python -m training.quantize --only garment-detector        # -> build/quantized
    python -m benchmarks.bench_accuracy --models build/quantized --baseline-models models
    python -m benchmarks.bench_accuracy --models build/quantized --evaluations retrieval --limit 200

Each evaluation runs as its own command with ``SHOP_THE_LOOK_MODELS`` set to each folder, both
folders at once: ``detection`` (training.evaluate.detection: garment box recall and false
positives on the street test split, gender on faces/), ``gender`` (training.evaluate.trained_models
--skip-garments: face then body on people/ and catalog queries), ``retrieval``
(training.evaluate.look_retrieval: retrieval through the look; slow, ``--limit`` for a smoke
run). Prints every rate side by side; a drop of more than 0.01 is marked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from companion.paths import MODELS_ENV, models_dir

MAX_DROP = 0.01
# Numbers that are not rates: counts and times (and look_retrieval's "misses at rank 1" counts).
NOT_RATES = ("labelled", "images", "faces", "people", "_ms", "ms_per", "boxes", "queries")
# Rates where fewer is better: shown, never counted as a drop.
FEWER_IS_BETTER = ("false_positives", "extra_rows")
COMMANDS = {
    "detection": ["training.evaluate.detection"],
    "gender": ["training.evaluate.trained_models", "--skip-garments"],
    "retrieval": ["training.evaluate.look_retrieval", "--no-embedder-only"],
}


def evaluate(evaluation: str, models: Path, work: Path, limit: int | None) -> subprocess.Popen:
    """Start one evaluation for ``models``, its JSON report going to ``work``."""
    report = work / f"{evaluation}.json"
    command = [sys.executable, "-m", *COMMANDS[evaluation]]
    if evaluation != "detection":
        command += ["--json", str(report)]
    if evaluation == "retrieval" and limit:
        command += ["--limit", str(limit)]
    stdout = report.open("w") if evaluation == "detection" else subprocess.DEVNULL
    return subprocess.Popen(command, env={**os.environ, MODELS_ENV: str(models.resolve())},
                            stdout=stdout, stderr=subprocess.DEVNULL)


def rates(report: object, prefix: str = "") -> dict[str, float]:
    """Every rate of a report (nested dicts), by its path."""
    found: dict[str, float] = {}
    if isinstance(report, dict):
        for key, value in report.items():
            found.update(rates(value, f"{prefix}/{key}" if prefix else str(key)))
    elif isinstance(report, int | float) and not isinstance(report, bool) and _is_rate(prefix):
        found[prefix] = float(report)
    return found


def _is_rate(path: str) -> bool:
    return not path.startswith("misses") and not any(
        word in path.rsplit("/", 1)[-1] for word in NOT_RATES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="the folder to judge")
    parser.add_argument("--baseline-models", type=Path, default=models_dir())
    parser.add_argument("--evaluations", nargs="+", choices=sorted(COMMANDS),
                        default=["detection", "gender"])
    parser.add_argument("--limit", type=int, help="retrieval: only the first N query rows")
    args = parser.parse_args()
    dropped = False
    with tempfile.TemporaryDirectory() as tmp:
        for evaluation in args.evaluations:
            folders = {"baseline": args.baseline_models, "this": args.models}
            works = {name: Path(tmp) / name for name in folders}
            running = []
            for name, folder in folders.items():
                works[name].mkdir(exist_ok=True)
                running.append(evaluate(evaluation, folder, works[name], args.limit))
            if any(process.wait() != 0 for process in running):
                print(f"{evaluation}: an evaluation failed")
                return 2
            baseline, this = (rates(json.loads((works[n] / f"{evaluation}.json").read_text()))
                              for n in folders)
            print(f"\n{evaluation}: {'rate':<70} {'baseline':>9} {'this':>9}")
            for key, old in baseline.items():
                new = this.get(key)
                drop = (new is not None and old - new > MAX_DROP
                        and not any(word in key for word in FEWER_IS_BETTER))
                dropped |= drop
                print(f"  {key:<78} {old:9.3f} "
                      + (f"{new:9.3f}" if new is not None else f"{'-':>9}")
                      + ("  DROP" if drop else ""))
    return 1 if dropped else 0


if __name__ == "__main__":
    sys.exit(main())
