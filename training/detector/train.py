"""Training the YOLO detector with ultralytics, offline: from the architecture yaml (random
weights) or an earlier run of ours; nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from training.data.street import load_street
from training.detector.from_onnx import weights_from_onnx
from training.detector.params import DetectorParams
from training.paths import repo_path
from training.quantize.folder import float_source


def offline_ultralytics(work: Path) -> None:
    """Keep ultralytics off the network (fonts, weights, telemetry); call before importing it."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(work / "ultralytics-config"))
    os.environ.setdefault("YOLO_VERBOSE", "True")


def train(params: DetectorParams, data_yaml: Path, work: Path) -> Path:
    """Train from scratch on the CPU (or the device asked for); return the best weights."""
    from ultralytics import YOLO

    # A *.yaml architecture starts from random weights; a .pt continues an earlier run of ours,
    # an .onnx the shipped detector (training/detector/from_onnx.py). Nothing is downloaded.
    start = params.model
    if start.endswith(".onnx"):  # a shipped detector: rebuild its weights to continue from
        photos = load_street(params.data / "street", "trainval")
        # An installed int8 detector continues from the float file it was made from.
        onnx = float_source(repo_path(start))
        start = str(weights_from_onnx(onnx, photos, work / "from-onnx.pt"))
    continuing = start.endswith(".pt")
    model = YOLO(str(repo_path(start)) if continuing else start)
    extra = {"time": params.hours} if params.hours else {}
    model.train(
        data=str(data_yaml),
        epochs=params.epochs,
        imgsz=params.imgsz,
        batch=params.batch,
        warmup_epochs=params.warmup_epochs,
        device=params.device,
        workers=params.workers,
        project=str(work),
        name="train",
        exist_ok=True,
        pretrained=continuing,  # our own earlier run or shipped model; never hub weights
        amp=False,  # the AMP check downloads weights; CPUs gain nothing from it
        plots=False,  # plotting fetches a font
        seed=params.seed,
        deterministic=False,
        cache=True,
        patience=0,
        verbose=True,
        **extra,
    )
    best = work / "train" / "weights" / "best.pt"
    return best if best.is_file() else work / "train" / "weights" / "last.pt"
