"""The CenterNet (MobileNetV3, COCO) backbone the label heads stand on: cut out of
models/centernet, split into the frozen bottom (run once per training view) and the top that is
fine-tuned, and the bottom's features of the embedder's training views.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

from companion.progress import Progress
from training.embedder.augment import PASTE_P
from training.embedder.data import TrainingData
from training.embedder.views import training_views
from training.label_heads.inputs import GraftInput
from training.paths import MODELS

BACKBONE_ONNX = MODELS / "centernet" / "centernet.onnx"
# The expanded (hard-swish) layers of MobileNetV3 blocks 11 (stride 16) and 14 (stride 32).
BACKBONE_OUTPUTS = [
    "tower_0/MobilenetV3/expanded_conv_11/expand/hard_swish/mul_1:0",
    "tower_0/MobilenetV3/expanded_conv_14/expand/hard_swish/mul_1:0",
]
# The first fine-tuned block by default: blocks 8-14 run on block 7's output (stride 16).
TUNE_FROM = 8

# the heads, one per label set: articleType, gender, kind, street class, baseColour
HEADS = ("type", "gender", "kind", "street", "colour")


def cut_backbone(path: Path) -> onnx.ModelProto:
    """models/centernet from its input to the two feature maps, any batch and image size.

    The TF export fixes batch 1 and 512x512, including in the squeeze-excite reshapes
    ([1,C,1,1]); those become [-1,C,1,1].
    """
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for i, name in ((0, "batch"), (1, "height"), (2, "width")):
        dims[i].dim_param = name
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]]).copy()
            if shape[0] == 1 and -1 not in shape:
                shape[0] = -1
                inits[node.input[1]].CopyFrom(numpy_helper.from_array(shape, node.input[1]))
    model = onnx.shape_inference.infer_shapes(model)
    cut = onnx.utils.Extractor(model).extract_model([model.graph.input[0].name],
                                                    BACKBONE_OUTPUTS)
    kept = [o for o in cut.opset_import if o.domain in ("", "ai.onnx")]
    del cut.opset_import[:]
    cut.opset_import.extend(kept)
    return cut


def session(model: onnx.ModelProto, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def pooled(backbone: ort.InferenceSession, x: torch.Tensor) -> np.ndarray:
    """Mean- and max-pooled feature maps of 0..1 NCHW images (the graft does the same)."""
    maps = backbone.run(BACKBONE_OUTPUTS, {backbone.get_inputs()[0].name: as_backbone_input(x)})
    return mean_and_max(*maps)


def mean_and_max(*maps: np.ndarray) -> np.ndarray:
    """[N,C,h,w] maps -> [N,2C per map]: each map's spatial mean, then its max."""
    return np.concatenate([f for m in maps for f in (m.mean(axis=(2, 3)), m.max(axis=(2, 3)))],
                          axis=1)


def as_backbone_input(x: torch.Tensor) -> np.ndarray:
    """0..1 NCHW images as the TF export wants them: 0..255 NHWC."""
    return (x * 255).permute(0, 2, 3, 1).contiguous().numpy()


def block_of(name: str) -> int:
    """The MobileNetV3 block a tensor belongs to ("…/expanded_conv_11/…" -> 11, the first
    block's "…/expanded_conv/…" -> 0)."""
    block = name.split("/")[2]
    return 0 if block == "expanded_conv" else int(block.rsplit("_", 1)[1])


LAST_BLOCK = block_of(BACKBONE_OUTPUTS[-1])


def top_input(tune_from: int) -> str:
    """The output of the block before the first fine-tuned one: its residual sum."""
    return f"tower_0/MobilenetV3/expanded_conv_{tune_from - 1}/add:0"


def split_backbone(cut: onnx.ModelProto,
                   tune_from: int) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """The frozen bottom (input -> the output of block `tune_from` - 1, and the pooled
    expansions of blocks before `tune_from`) and the top that is fine-tuned (-> the other
    pooled expansions)."""
    starts = sorted(block_of(o) + 1 for n in cut.graph.node for o in n.output
                    if o.startswith("tower_0/MobilenetV3/expanded_conv")
                    and o == top_input(block_of(o) + 1) and block_of(o) < LAST_BLOCK)
    if tune_from not in starts:
        raise SystemExit(f"--tune-from {tune_from}: fine-tuning can only start at a block that "
                         f"follows a residual sum: one of {starts}")
    start = top_input(tune_from)
    frozen = [o for o in BACKBONE_OUTPUTS if block_of(o) < tune_from]
    extractor = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(cut))
    bottom = extractor.extract_model([cut.graph.input[0].name], [start, *frozen])
    top = extractor.extract_model([start], [o for o in BACKBONE_OUTPUTS if o not in frozen])
    return bottom, top


@dataclass
class Views:
    """The frozen bottom's features of training views and the labels of their product or box."""

    maps: torch.Tensor  # [V,C,h,w] float16: the fine-tuned top's input
    frozen: torch.Tensor  # [V,D] float32: frozen expansions (block 11's), mean and max pooled
    labels: dict[str, torch.Tensor]  # head -> [V] int64, -1 = no label


def bottom_features(bottom: ort.InferenceSession, x: torch.Tensor) -> tuple[torch.Tensor,
                                                                          torch.Tensor]:
    """The top's input (float16) and the frozen expansions' pooled features ([N,0] if none)."""
    maps, *expanded = bottom.run(None, {bottom.get_inputs()[0].name: as_backbone_input(x)})
    frozen = mean_and_max(*expanded) if expanded else np.zeros((len(maps), 0), np.float32)
    return torch.from_numpy(maps).half(), torch.from_numpy(frozen)


def view_features(bottom: ort.InferenceSession, data: TrainingData, views: int,
                  shape: GraftInput, gen: torch.Generator) -> Views:
    """The bottom's features of the embedder's training views (`training_views`, `views` per
    product or box, at the graft's input size), computed once so that fine-tuning pays only for
    the top blocks."""
    cat, street = data.cat, data.street
    total = (len(cat.ids) + len(street.crops)) * views
    maps, frozen, labels = [], [], {k: [] for k in HEADS}
    with Progress(total, "  running the frozen layers", unit="views") as bar:
        for batch in training_views(cat, street, views, shape.size, PASTE_P, gen, shape.batch):
            m, f = bottom_features(bottom, batch.images)
            maps.append(m)
            frozen.append(f)
            for k, v in batch.labels(cat, street, HEADS).items():
                labels[k].append(v)
            bar.advance(len(batch.idx))
    return Views(torch.cat(maps), torch.cat(frozen), {k: torch.cat(v) for k, v in labels.items()})
