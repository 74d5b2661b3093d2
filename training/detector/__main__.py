"""`python -m training.detector`: train the garment detector and export it (see --help)."""

from __future__ import annotations

import argparse
import sys
import time

import training.detector
from training.detector.dataset import build_dataset
from training.detector.export import choose_threshold, export
from training.detector.params import DetectorParams
from training.detector.train import offline_ultralytics, train
from training.manifest import read_manifest, save_manifest
from training.params import parse


def main(argv: list[str] | None = None) -> None:
    doc = training.detector.__doc__
    params = parse(DetectorParams, argv, description=doc.split("\n\n")[0],
                   epilog=doc.split("\n\n", 1)[1],
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    work = params.work
    work.mkdir(parents=True, exist_ok=True)
    offline_ultralytics(work)
    try:
        import ultralytics  # noqa: F401
    except ImportError:
        sys.exit("ultralytics is not installed here. Set up the detector environment as the "
                 "--help text shows and run this with .venv-detector/bin/python.")
    started = time.time()
    if params.export_only:
        weights = params.export_only
    else:
        data_yaml = build_dataset(params.data, work, params.limit, params.val_fraction,
                                  params.seed, params.paste_bags)
        weights = train(params, data_yaml, work)
    out = params.out
    threshold = params.score_threshold
    export(weights, out, params.imgsz, 0.25 if threshold is None else threshold)
    if threshold is None:
        threshold = choose_threshold(out, params.data, work)
        manifest = read_manifest(out)
        manifest["extra"]["score_threshold"] = threshold
        save_manifest(out, manifest)
    print(f"done in {(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
