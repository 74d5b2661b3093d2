"""Ultralytics weights rebuilt from a shipped detector's ONNX file, so training can continue
from what ships when the run's own .pt is gone (it is not kept: runs/ is not committed).

The export fused each convolution with its batch norm (weights scaled, a bias added). Here every
fused convolution goes back into an unfused YOLOv8 layer; its batch norm is set so that it
changes nothing: its running mean and variance are the statistics of that convolution's output
on street trainval photos, and its scale and shift undo them (scale sqrt(var + eps), shift the
mean plus the fused bias). So the network computes what the ONNX computes in evaluation, and in
training its batch statistics start near those running ones instead of rescaling every layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.inference.garment_detector import PAD_VALUE
from companion.inference.preprocess import letterbox
from training.data import data_root
from training.data.street import CATEGORIES, StreetImage
from training.params import cli, parse
from training.pixels import read_rgb

ARCHITECTURE = "yolov8n.yaml"
CALIBRATION_PHOTOS = 96  # street trainval photos whose activations set the batch norms


def letterboxed(image: StreetImage, side: int) -> np.ndarray:
    """The photo as the detector is fed it (the companion's letterbox: centred on grey
    PAD_VALUE), CHW in [0, 1]."""
    pixels = read_rgb(image.path)
    square, _ = letterbox(pixels, side, PAD_VALUE, centre=True)
    return square.transpose(2, 0, 1).astype(np.float32) / 255


def weights_from_onnx(onnx_path: Path, photos: list[StreetImage], out: Path) -> Path:
    """Write ultralytics weights (``out``, a .pt) equal to ``onnx_path``'s network; return out."""
    import onnx
    import torch
    from onnx import numpy_helper
    from ultralytics.nn.modules.conv import Conv
    from ultralytics.nn.tasks import DetectionModel

    graph = onnx.load(str(onnx_path)).graph
    side = graph.input[0].type.tensor_type.shape.dim[2].dim_value
    fused = {i.name: torch.tensor(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    model = DetectionModel(ARCHITECTURE, nc=len(CATEGORIES), verbose=False)
    model.names = dict(enumerate(CATEGORIES))
    state = model.state_dict()
    for key, value in state.items():
        if key.endswith(".bn.bias"):  # the fused bias, until the batch norms are calibrated
            value.copy_(fused[key.removesuffix("bn.bias") + "conv.bias"])
        elif key.endswith(".bn.weight") or key.endswith(".bn.running_var"):
            value.fill_(1.0)
        elif key.endswith(".bn.running_mean"):
            value.zero_()
        elif key in fused:
            value.copy_(fused[key])
    model.load_state_dict(state)
    for module in model.modules():
        if isinstance(module, Conv):
            module.bn.running_var.sub_(module.bn.eps)  # (x - 0) / sqrt(1 - eps + eps) = x
    model.eval()

    batch = torch.tensor(np.stack([letterboxed(p, side) for p in photos[:CALIBRATION_PHOTOS]]))
    outputs: dict[Conv, torch.Tensor] = {}
    hooks = [m.conv.register_forward_hook(
        lambda conv, _inputs, output, owner=m: outputs.__setitem__(owner, output))
        for m in model.modules() if isinstance(m, Conv)]
    with torch.no_grad():
        model(batch)
    for hook in hooks:
        hook.remove()
    for owner, output in outputs.items():
        mean, var = output.mean((0, 2, 3)), output.var((0, 2, 3), unbiased=False)
        bn = owner.bn
        bias = bn.bias.data.clone()
        bn.running_mean.data, bn.running_var.data = mean, var
        bn.weight.data, bn.bias.data = torch.sqrt(var + bn.eps), mean + bias
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": -1, "best_fitness": None, "model": model, "ema": None, "updates": None,
                "optimizer": None, "train_args": {"model": str(onnx_path)}}, out)
    return out


def compare(onnx_path: Path, weights: Path, photos: list[StreetImage]) -> dict[str, float]:
    """How far the rebuilt network is from the ONNX on ``photos`` (largest difference, absolute
    and relative to the largest output), and the first batch norm's mean running variance."""
    import onnxruntime as ort
    import torch

    model = torch.load(weights, weights_only=False)["model"].eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name, side = session.get_inputs()[0].name, session.get_inputs()[0].shape[2]
    batch = np.stack([letterboxed(p, side) for p in photos])
    expected = np.concatenate([session.run(None, {name: x[None]})[0] for x in batch])
    with torch.no_grad():
        got = model(torch.tensor(batch))[0].numpy()
    largest = float(np.abs(got - expected).max())
    return {"max_abs_difference": largest,
            "relative": largest / float(np.abs(expected).max()),
            "first_bn_running_var": float(model.model[0].bn.running_var.mean())}


@dataclass
class FromOnnxParams:
    onnx: Path = field(metadata=cli("the detector's ONNX (e.g. the shipped one)", positional=True))
    out: Path = field(metadata=cli("where to write the ultralytics weights (.pt)",
                                   positional=True))
    data: Path = field(default=data_root(), metadata=cli("folder holding street/"))


def main(argv: list[str] | None = None) -> None:
    """``python -m training.detector.from_onnx ONNX OUT.pt``: rebuild, then compare on 2 photos."""
    import json

    from training.data.street import load_street
    from training.detector.train import offline_ultralytics
    from training.quantize.folder import float_source

    params = parse(FromOnnxParams, argv, description=__doc__.split("\n\n")[0])
    offline_ultralytics(params.out.parent)
    photos = load_street(params.data / "street", "trainval")
    onnx = float_source(params.onnx)  # an installed int8 detector: its float file
    weights = weights_from_onnx(onnx, photos, params.out)
    print(json.dumps(compare(onnx, weights, photos[-2:])))


if __name__ == "__main__":
    main()
