"""Train the garment detector on the street photos and export it as ONNX with a manifest.

Why: keypoint-based garment boxes miss what keypoints do not show (a jacket's hem, a skirt's flare,
shoes under trousers, bags). This trains a small YOLO detector for the companion's categories
(topwear, bottomwear, footwear, dress, bag) on ``street`` trainval only, so a retailer can rerun it
on their own labelled photos.

Usage (in the detector environment, see below)::

    .venv-detector/bin/python scripts/train_detector.py --hours 0.7      # the shipped model
    .venv-detector/bin/python scripts/train_detector.py --limit 16 --epochs 1 --out runs/smoke
    .venv-detector/bin/python scripts/train_detector.py \
        --export-only runs/detector/train/weights/best.pt

Steps: (1) build a YOLO dataset under ``--work`` (symlinked photos, generated labels in the five
categories; a fixed 10 % of trainval becomes the validation set, test.txt is never read);
(2) train from the architecture yaml (no pretrained weights are downloaded); (3) export ONNX
(opset 17, fixed square input) to ``--out`` with ``manifest.json``.

Environment: ultralytics (AGPL-3.0) is used here only; the companion never imports it::

    python3 -m venv .venv-detector
    .venv-detector/bin/pip install torch==2.14.1 torchvision==0.29.1
    .venv-detector/bin/pip install ultralytics onnx onnxslim torch==2.14.1 torchvision==0.29.1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from model_manifest import rgb_input, write_manifest  # noqa: E402
from street_labels import CATEGORIES, load_street, yolo_lines  # noqa: E402

MODEL_NAME = "garment-detector"
OPSET = 17
PAD_VALUE = 114  # ultralytics' letterbox grey; the runtime pads with the same value


def repo_path(path: str | Path) -> Path:
    """Paths on the command line are relative to the repository root, not the shell's cwd."""
    path = Path(path)
    return path if path.is_absolute() else (ROOT / path)


def offline_ultralytics(work: Path) -> None:
    """Keep ultralytics off the network (fonts, weights, telemetry); call before importing it."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(work / "ultralytics-config"))
    os.environ.setdefault("YOLO_VERBOSE", "True")


def build_dataset(
    data: Path, work: Path, limit: int | None, val_fraction: float, seed: int
) -> Path:
    """Write ``work/dataset`` (symlinked photos, generated labels) and return its data.yaml."""
    street = data / "street"
    images = load_street(street, "trainval")
    rng = random.Random(seed)
    order = list(range(len(images)))
    rng.shuffle(order)
    images = [images[i] for i in order]
    if limit:
        images = images[:limit]
    n_val = max(1, round(len(images) * val_fraction))
    splits = {"val": images[:n_val], "train": images[n_val:] or images[:n_val]}
    root = work / "dataset"
    if root.exists():
        shutil.rmtree(root)
    for split, members in splits.items():
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for img in members:
            (root / "images" / split / img.name).symlink_to(img.path.resolve())
            label = root / "labels" / split / (Path(img.name).stem + ".txt")
            label.write_text("\n".join(yolo_lines(img)) + "\n", encoding="utf-8")
    yaml_path = root / "data.yaml"
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(CATEGORIES))
    yaml_path.write_text(
        f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n",
        encoding="utf-8",
    )
    print(f"dataset: {len(splits['train'])} train, {len(splits['val'])} val photos -> {root}")
    return yaml_path


def train(args: argparse.Namespace, data_yaml: Path, work: Path) -> Path:
    """Train from scratch on the CPU (or the device asked for); return the best weights."""
    from ultralytics import YOLO

    # A *.yaml architecture starts from random weights; a .pt continues an earlier run of ours.
    # Either way nothing is downloaded.
    model = YOLO(str(repo_path(args.model)) if args.model.endswith(".pt") else args.model)
    extra = {"time": args.hours} if args.hours else {}
    model.train(
        data=str(data_yaml),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        workers=args.workers,
        project=str(work),
        name="train",
        exist_ok=True,
        pretrained=args.model.endswith(".pt"),  # our own earlier run; never hub weights
        amp=False,  # the AMP check downloads weights; CPUs gain nothing from it
        plots=False,  # plotting fetches a font
        seed=args.seed,
        deterministic=False,
        cache=True,
        patience=0,
        verbose=True,
        **extra,
    )
    best = work / "train" / "weights" / "best.pt"
    return best if best.is_file() else work / "train" / "weights" / "last.pt"


def strip_local_paths(path: Path) -> None:
    """Drop this machine's paths from the metadata ultralytics writes (the dataset's location)."""
    import onnx

    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "description":
            prop.value = "YOLOv8n garment detector trained by scripts/train_detector.py"
    onnx.save(model, str(path))


def export(weights: Path, out: Path, imgsz: int, score_threshold: float) -> None:
    """Export ONNX at a fixed square size and write the manifest the companion verifies."""
    import onnx
    from ultralytics import YOLO

    model = YOLO(str(weights))
    onnx_path = Path(
        model.export(format="onnx", imgsz=imgsz, opset=OPSET, dynamic=False, simplify=True)
    )
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{MODEL_NAME}.onnx"
    shutil.copyfile(onnx_path, target)
    strip_local_paths(target)
    graph = onnx.load(str(target)).graph
    in_name = graph.input[0].name
    out_vi = graph.output[0]
    out_shape = [d.dim_value for d in out_vi.type.tensor_type.shape.dim]
    names = model.names
    labels = [names[i] for i in range(len(names))]
    write_manifest(
        target,
        name=MODEL_NAME,
        task="garment-detection",
        inputs=[rgb_input(in_name, [1, 3, imgsz, imgsz],
                          f"{imgsz}x{imgsz}, letterboxed: scaled to fit, centred, padded "
                          f"with grey {PAD_VALUE}")],
        outputs=[{
            "name": out_vi.name,
            "shape": out_shape,
            "dtype": "float32",
            "meaning": f"[1,4+{len(labels)},N]: per candidate (cx, cy, w, h) in input pixels, "
            "then one sigmoid score per label; no NMS applied",
        }],
        labels=labels,
        licence="Weights: ours, trained on CCP street photos (research-only data). Trained "
        "with ultralytics (AGPL-3.0) code; whether AGPL obligations reach exported weights is "
        "unsettled. See MODEL_CARD.md",
        provenance={
            "trainer": "scripts/train_detector.py (ultralytics "
            f"{_ultralytics_version()}, from {model.ckpt.get('train_args', {}).get('model', '?')}"
            ", no pretrained weights)",
            "data": "../shared/data/street trainval.txt (Clothing Co-Parsing, CCP)",
            "train_args": {
                k: _relative(v)
                for k, v in (model.ckpt.get("train_args") or {}).items()
                if k in ("epochs", "time", "imgsz", "batch", "seed", "model", "optimizer")
            },
            "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "opset": OPSET,
        },
        extra={
            "score_threshold": score_threshold,
            "iou_threshold": 0.5,
            "pad_value": PAD_VALUE,
            "max_per_label": {"topwear": 3, "bottomwear": 3, "footwear": 3, "dress": 3, "bag": 4},
        },
    )
    print(f"exported {target} ({target.stat().st_size / 1e6:.1f} MB) and manifest.json")


def choose_threshold(out: Path, data: Path, work: Path) -> float:
    """The score threshold with the best F1 (IoU >= 0.5) on the validation photos.

    Runs the exported ONNX through the companion's own numpy post-processing, so the threshold
    fits what ships, not ultralytics' NMS.
    """
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from companion.inference.store import ModelStore
    from companion.pipeline.detect_garments import GarmentDetector
    from companion.pipeline.imaging import iou

    val_names = {p.name for p in (work / "dataset" / "images" / "val").iterdir()}
    images = [im for im in load_street(data / "street", "trainval") if im.name in val_names]
    detector = GarmentDetector(ModelStore(out.parent), out.name)
    lowest = 0.05
    found = [(im, detector.detect(np.asarray(Image.open(im.path).convert("RGB")), lowest))
             for im in images]
    best = (-1.0, 0.25)
    for threshold in np.arange(lowest, 0.61, 0.05):
        tp = fp = fn = 0
        for image, garments in found:
            for category in CATEGORIES:
                truth = [g.box for g in image.garments if g.category == category]
                mine = [g.box for g in garments if g.category == category and g.score >= threshold]
                hits = sum(any(iou(b, t) >= 0.5 for b in mine) for t in truth)
                tp, fn = tp + hits, fn + len(truth) - hits
                fp += max(len(mine) - hits, 0)
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        print(f"score >= {threshold:.2f}: recall {tp / max(tp + fn, 1):.3f}, "
              f"false positives/photo {fp / max(len(found), 1):.2f}, F1 {f1:.3f}")
        if f1 > best[0]:
            best = (f1, round(float(threshold), 2))
    print(f"score threshold {best[1]} (best F1 {best[0]:.3f} on {len(found)} validation photos)")
    return best[1]


def _relative(value):
    """Paths under the repository as repository-relative text: manifests name no machine."""
    if isinstance(value, str) and value.startswith(str(ROOT) + os.sep):
        return os.path.relpath(value, ROOT)
    return value


def _ultralytics_version() -> str:
    import ultralytics

    return ultralytics.__version__


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", default="../shared/data", help="folder holding street/ "
                        "(relative to the repository root; default %(default)s)")
    parser.add_argument("--work", default="runs/detector", help="dataset copy and training run "
                        "(gitignored; default %(default)s)")
    parser.add_argument("--out", default="models/garment-detector",
                        help="where the ONNX file and manifest go (default %(default)s)")
    parser.add_argument("--model", default="yolov8n.yaml",
                        help="ultralytics architecture yaml, trained from scratch (%(default)s), "
                        "or a .pt of an earlier run to continue from")
    parser.add_argument("--imgsz", type=int, default=320,
                        help="square training/export size; 320 keeps CPU inference fast")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--hours", type=float, default=None,
                        help="wall-clock budget; overrides --epochs and fits the LR schedule to it")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu, or 0 for the first GPU")
    parser.add_argument("--workers", type=int, default=2, help="data loader processes")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many trainval photos (smoke runs)")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score-threshold", type=float, default=None,
                        help="the companion's default minimum score, written to the manifest; "
                        "default: the one with the best F1 on the validation photos")
    parser.add_argument("--export-only", metavar="WEIGHTS", default=None,
                        help="skip training; export these .pt weights")
    args = parser.parse_args()

    work = repo_path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    offline_ultralytics(work)
    try:
        import ultralytics  # noqa: F401
    except ImportError:
        sys.exit("ultralytics is not installed here. Set up the detector environment as the "
                 "--help text shows and run this script with .venv-detector/bin/python.")
    started = time.time()
    if args.export_only:
        weights = repo_path(args.export_only)
    else:
        data_yaml = build_dataset(repo_path(args.data), work, args.limit, args.val_fraction,
                                  args.seed)
        weights = train(args, data_yaml, work)
    out = repo_path(args.out)
    threshold = args.score_threshold
    export(weights, out, args.imgsz, 0.25 if threshold is None else threshold)
    if threshold is None:
        threshold = choose_threshold(out, repo_path(args.data), work)
        manifest_path = out / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["extra"]["score_threshold"] = threshold
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"done in {(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
