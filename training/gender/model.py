"""The body-gender network: NanoDet's COCO backbone (converted with onnx2torch) plus one logistic
unit, and its ONNX export with the manifest the companion reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.gender.samples import CROP_MARGIN, INPUT_H, INPUT_W, Sample, batches
from training.manifest import rgb_input, write_manifest
from training.paths import MODELS

MODEL_NAME = "body-gender"
BACKBONE = MODELS / "nanodet-embedder" / "nanodet-embedder.onnx"
OPSET = 17


def build_model():
    """NanoDet's COCO backbone (GAP output, 512-d) + dropout + one logistic unit."""
    import onnx
    import torch
    from onnx2torch import convert

    class BodyGenderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = convert(onnx.load(str(BACKBONE)))
            self.dropout = torch.nn.Dropout(0.3)
            self.head = torch.nn.Linear(512, 1)

        def forward(self, x):  # logits, for training
            return self.head(self.dropout(self.backbone(x)))[:, 0]

    class Exported(torch.nn.Module):
        """What ships: P(male) per image."""

        def __init__(self, net) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            return torch.sigmoid(self.net(x))[:, None]

    return BodyGenderNet(), Exported


def predict(net, samples: list[Sample], batch: int) -> np.ndarray:
    """P(male) of each sample, un-augmented, in `batch`-sized runs."""
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for images, _ in batches(samples, batch, None):
            out.append(torch.sigmoid(net(torch.from_numpy(images))).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def export(net, exported_cls, out: Path, extra: dict, provenance: dict) -> None:
    """Write body-gender.onnx (dynamic batch) and its manifest into `out`."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{MODEL_NAME}.onnx"
    wrapper = exported_cls(net).eval()
    dummy = torch.rand(2, 3, INPUT_H, INPUT_W)
    torch.onnx.export(
        wrapper, (dummy,), str(target), input_names=["image"], output_names=["male_probability"],
        dynamic_axes={"image": {0: "batch"}, "male_probability": {0: "batch"}},
        opset_version=OPSET, dynamo=False,
    )
    write_manifest(
        target,
        name=MODEL_NAME,
        task="body-gender",
        inputs=[rgb_input("image", ["batch", 3, INPUT_H, INPUT_W],
                          f"person crop (box + {CROP_MARGIN:.0%} margin per side) fitted into "
                          f"{INPUT_W}x{INPUT_H}, centred, grey 114 padding")],
        outputs=[{
            "name": "male_probability",
            "shape": ["batch", 1],
            "dtype": "float32",
            "meaning": "[N,1] probability that the person is male (> 0.5 = male)",
        }],
        labels=["female", "male"],
        licence="Weights: ours, fine-tuned from the NanoDet backbone (Apache-2.0) on PETA "
        "(research-only) and catalog photos (licence unverified). See MODEL_CARD.md",
        provenance=provenance,
        extra={"crop_margin": CROP_MARGIN, "pad_value": 114, **extra},
    )
    print(f"exported {target} ({target.stat().st_size / 1e6:.1f} MB) and manifest.json")
