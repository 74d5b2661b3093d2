"""Quantize models to int8 and judge them; install the ones worth keeping.

    python -m training.quantize --only garment-detector centernet      # -> build/quantized
    SHOP_THE_LOOK_MODELS=build/quantized python -m training.evaluate.detection
    python -m benchmarks.bench_look --models build/quantized --baseline-models models
    python -m training.quantize --install garment-detector              # into models/

Calibration feeds are recorded from full looks at the first ``--photos`` trainval street photos
(training.quantize.feeds); the last ``--held-out`` feeds of each model are kept out of the
calibration and used to compare the int8 file with the float one (speed per call in turn, and
the largest output difference), printed per model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from companion.paths import default_index_dir, models_dir
from training.data import data_root
from training.manifest import sha256_of
from training.quantize.feeds import record_feeds, trainval_photos
from training.quantize.folder import float_model, install, link_folder, replace_model
from training.quantize.quantize import CALIBRATIONS, compare, float_nodes, quantize

# The models a look runs and that this tool may quantize.
MODELS = ("movenet-multipose", "blazeface", "faceres", "body-gender", "centernet",
          "garment-detector", "garment-embedder")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--models", type=Path, default=models_dir())
    parser.add_argument("--out", type=Path, default=Path("build/quantized"))
    parser.add_argument("--index", type=Path, default=None, help="default: the demo index")
    parser.add_argument("--data", type=Path, default=data_root())
    parser.add_argument("--photos", type=int, default=80, help="trainval photos to look at")
    parser.add_argument("--per-model", type=int, default=64, help="calibration feeds per model")
    parser.add_argument("--held-out", type=int, default=8, help="feeds kept for the comparison")
    parser.add_argument("--method", choices=sorted(CALIBRATIONS), default="minmax")
    parser.add_argument("--keep-float", default="", metavar="REGEX",
                        help="nodes whose name matches stay float (e.g. a detector's last convs)")
    parser.add_argument("--install", nargs="+", choices=MODELS, metavar="MODEL",
                        help="copy these from --out into --models instead of quantizing")
    args = parser.parse_args(argv)
    if args.install:
        for name in args.install:
            manifest = install(args.out, args.models, name)
            print(f"installed {name}: {manifest['bytes']} bytes, sha256 {manifest['sha256']}")
        return
    link_folder(args.models, args.out)
    photos = trainval_photos(args.data / "street", args.photos)
    feeds = record_feeds(args.models, args.index or default_index_dir(), photos,
                         args.per_model + args.held_out)
    report = {}
    for name in args.only:
        model_feeds = feeds.get(name, [])
        if len(model_feeds) <= args.held_out:
            print(f"{name}: only {len(model_feeds)} feeds in {len(photos)} looks; skipped")
            continue
        calibration, held_out = model_feeds[: -args.held_out], model_feeds[-args.held_out:]
        source = float_model(args.models / name)  # never an installed int8 file again
        target = args.out / f"{name}.int8.onnx"
        kept = float_nodes(source, args.keep_float)
        quantize(source, target, calibration, args.method, kept)
        result = compare(source, target, held_out)
        replace_model(args.out / name, target, {
            "quantized": f"training.quantize: int8 QDQ, per-channel s8 weights (reduce_range), "
                         f"u8 activations, {args.method} calibration on {len(calibration)} "
                         f"feeds from {len(photos)} trainval street looks"
                         + (f"; {len(kept)} nodes kept float ({args.keep_float})" if kept else ""),
            "float_sha256": sha256_of(source)})
        target.unlink()
        report[name] = {"float_ms": round(result.float_ms, 2), "int8_ms": round(result.int8_ms, 2),
                        "ratio": round(result.ratio, 3),
                        "max_abs_diff": round(result.max_abs_diff, 4),
                        "mean_abs_diff": round(result.mean_abs_diff, 5)}
        print(f"{name}: {json.dumps(report[name])}", flush=True)
    (args.out / "quantize_report.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
