"""The label heads' training settings: one dataclass, which is also their command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.data import data_root
from training.embedder.params import MODEL_NAME
from training.label_heads.backbone import BACKBONE_ONNX, LAST_BLOCK, TUNE_FROM
from training.params import cli
from training.paths import MODELS, RUNS


@dataclass(kw_only=True)
class LabelHeadsParams:
    """How to train and graft the heads; `python -m training.label_heads --help`."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder with catalog/ and street/ (default: {data_root()})"))
    base: Path = field(default=MODELS / MODEL_NAME / f"{MODEL_NAME}.onnx", metadata=cli(
        "the trained embedder to graft onto (its manifest.json next to it)"))
    backbone: Path = field(default=BACKBONE_ONNX, metadata=cli(
        "the CenterNet ONNX whose backbone is used (default: models/centernet)"))
    out: Path = field(default=MODELS / MODEL_NAME, metadata=cli(
        "where the grafted ONNX and manifest.json go"))
    work: Path = field(default=RUNS / "label-heads", metadata=cli(
        "pooled views are kept here and reused by the next run with the same views, limit, "
        "size and seed (git-ignored)"))
    views: int = field(default=4, metadata=cli(
        "views per image: 1 clean + N-1 street-like (products), N (street boxes)"))
    epochs: int = field(default=8, metadata=cli("training epochs"))
    lr: float = field(default=3e-3, metadata=cli("the heads' peak learning rate"))
    top_lr: float = field(default=1e-3, metadata=cli(
        "peak learning rate of the fine-tuned backbone blocks"))
    tune_from: int = field(default=TUNE_FROM, metadata=cli(
        f"the first fine-tuned backbone block (default {TUNE_FROM}: blocks "
        f"{TUNE_FROM}-{LAST_BLOCK}); the blocks before it stay frozen and run once per view. "
        "Earlier blocks train more of the backbone, slower"))
    weight_decay: float = field(default=1e-2, metadata=cli())
    limit: int | None = field(default=None, metadata=cli(
        "use only this many catalog products (smoke tests)"))
    batch: int = field(default=64, metadata=cli("images per backbone run"))
    size: int | None = field(default=None, metadata=cli(
        "the heads' input size in pixels, which becomes the model's input; the embedder "
        "inside gets it resized to its own (default: the embedder's)"))
    seed: int = field(default=0, metadata=cli())
    threads: int = field(default=2, metadata=cli())
    worn_crops: bool = field(default=False, metadata=cli(
        "also train on each training product's garment cut from its model shot, as an index "
        "build cuts it, labelled as its product (training/embedder/worn.py)"))
    init_from: Path | None = field(default=None, metadata=cli(
        "continue from this graft's trained blocks and heads (e.g. "
        "models/garment-embedder/garment-embedder.onnx) instead of CenterNet's COCO weights and "
        "new heads; take fewer epochs and lower rates", metavar="ONNX"))

    def __post_init__(self) -> None:
        self.data = self.data.resolve()
