"""Training the YOLO detector with ultralytics, offline: from the architecture yaml (random
weights) or an earlier run of ours; nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from training.detector.params import DetectorParams
from training.paths import repo_path


def offline_ultralytics(work: Path) -> None:
    """Keep ultralytics off the network (fonts, weights, telemetry); call before importing it."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(work / "ultralytics-config"))
    os.environ.setdefault("YOLO_VERBOSE", "True")


def train(params: DetectorParams, data_yaml: Path, work: Path) -> Path:
    """Train from scratch on the CPU (or the device asked for); return the best weights."""
    from ultralytics import YOLO

    # A *.yaml architecture starts from random weights; a .pt continues an earlier run of ours.
    # Either way nothing is downloaded.
    model = YOLO(str(repo_path(params.model)) if params.model.endswith(".pt") else params.model)
    extra = {"time": params.hours} if params.hours else {}
    model.train(
        data=str(data_yaml),
        epochs=params.epochs,
        imgsz=params.imgsz,
        batch=params.batch,
        device=params.device,
        workers=params.workers,
        project=str(work),
        name="train",
        exist_ok=True,
        pretrained=params.model.endswith(".pt"),  # our own earlier run; never hub weights
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
