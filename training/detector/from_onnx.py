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

from pathlib import Path

import numpy as np

from training.data.street import CATEGORIES, StreetImage

ARCHITECTURE = "yolov8n.yaml"
CALIBRATION_PHOTOS = 96  # street trainval photos whose activations set the batch norms


def letterboxed(image: StreetImage, side: int) -> np.ndarray:
    """The photo scaled to fit ``side``, centred on grey 114, CHW in [0, 1] (the export's input)."""
    from PIL import Image

    with Image.open(image.path) as opened:
        photo = opened.convert("RGB")
    photo.thumbnail((side, side))
    canvas = Image.new("RGB", (side, side), (114, 114, 114))
    canvas.paste(photo, ((side - photo.width) // 2, (side - photo.height) // 2))
    return np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1) / 255


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
