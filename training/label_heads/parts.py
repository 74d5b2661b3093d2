"""What a graft is made of for a set of images (the embedder's output and each head's
distribution), and how images reach the embedder inside it when the heads' input is larger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F

from training.embedder.augment import clean_batch
from training.label_heads.backbone import pooled
from training.label_heads.heads import Branch, averaged
from training.label_heads.inputs import GraftInput


@dataclass
class Parts:
    """What the grafted model is made of, for a set of clean images."""

    base: np.ndarray  # [N,B] the embedder's unit-length output
    heads: dict[str, np.ndarray]  # head -> [N,C] sqrt probabilities


def parts_of(images: torch.Tensor, base: ort.InferenceSession, branches: list[Branch],
             shape: GraftInput) -> Parts:
    bases, feats = [], [[] for _ in branches]
    for start in range(0, len(images), shape.batch):
        x = clean_batch(images[start : start + shape.batch], shape.size)
        bases.append(base.run(None, {"image": for_base(x, shape).numpy()})[0])
        for branch, f in zip(branches, feats, strict=True):
            f.append(pooled(branch.session, x))
    return Parts(np.concatenate(bases), averaged(
        [b.heads.probabilities(np.concatenate(f)) for b, f in zip(branches, feats, strict=True)]))


def for_base(x: torch.Tensor, shape: GraftInput) -> torch.Tensor:
    """The heads' input as the embedder sees it inside the graft: resized to the embedder's own
    size, antialiased, as the training's `clean_batch` resizes (without antialiasing the
    embedder alone lost 0.015 type+colour R@1 on the tuning queries, 192 -> 160 px)."""
    if shape.base_size == shape.size:
        return x
    return F.interpolate(x, size=shape.base_size, mode="bilinear", antialias=True,
                         align_corners=False)


def resize_matrix(size: int, to: int) -> np.ndarray:
    """[to, size]: `for_base`'s resize along one axis as a matrix (it is linear and separable),
    so the graft does it with MatMul in any opset (ONNX Resize antialiases from opset 18 only)."""
    eye = torch.eye(size)[None, None]  # rows of the identity, resized along their width
    across = F.interpolate(eye, size=(size, to), mode="bilinear", antialias=True,
                           align_corners=False)[0, 0]
    return across.T.contiguous().numpy().astype(np.float32)
