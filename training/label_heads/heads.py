"""The label heads: one linear softmax head per label set on the pooled features of the
backbone's blocks 11 and 14, trained together with the fine-tuned top blocks (onnx2torch), and
the trained blocks written back into the ONNX backbone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
import onnx2torch
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

from companion.progress import Progress
from training.label_heads.backbone import HEADS, Views, session
from training.label_heads.params import LabelHeadsParams
from training.log import log

TRAIN_BATCH = 256


@dataclass
class Heads:
    """Linear softmax heads on raw pooled features (the standardisation is folded in)."""

    weight: dict[str, np.ndarray]  # head -> [D,C]
    bias: dict[str, np.ndarray]  # head -> [C]
    classes: dict[str, list[str]]

    def probabilities(self, features: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for k in self.weight:
            logits = torch.from_numpy(features @ self.weight[k] + self.bias[k])
            out[k] = torch.softmax(logits, dim=1).numpy()
        return out


@dataclass
class Branch:
    """A backbone with trained blocks and the heads on its pooled features. A graft holds one
    branch, or several whose heads' distributions it averages (training.label_heads.ensemble)."""

    model: onnx.ModelProto  # the cut backbone (`cut_backbone`) with its trained weights
    heads: Heads
    session: ort.InferenceSession

    @classmethod
    def of(cls, model: onnx.ModelProto, heads: Heads, threads: int) -> Branch:
        return cls(model, heads, session(model, threads))


def averaged(probabilities: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The square root of each head's distribution averaged over the branches that have it."""
    present = [k for k in HEADS if any(k in p for p in probabilities)]
    return {k: np.sqrt(np.mean([p[k] for p in probabilities if k in p], axis=0))
            for k in present}


class HeadNet(nn.Module):
    """The backbone's top blocks (onnx2torch) and one linear head per label set on the
    standardised pooled features of blocks 11 and 14."""

    def __init__(self, top: onnx.ModelProto, views: Views, classes: dict[str, list[str]],
                 gen: torch.Generator) -> None:
        super().__init__()
        self.top = onnx2torch.convert(top)
        with torch.no_grad():  # standardise with the untrained features of a sample of views
            sample = torch.randperm(len(views.maps), generator=gen)[:2048]
            features = self.pooled(views.maps[sample], views.frozen[sample])
        self.register_buffer("mean", features.mean(0))
        # no huge weights for (near) constant features
        self.register_buffer("std", features.std(0).clamp_min(0.05))
        # "head_" because nn.Module already has attributes named like some heads ("type")
        self.heads = nn.ModuleDict({f"head_{k}": nn.Linear(features.shape[1], len(classes[k]))
                                    for k in HEADS})
        self.dropout = nn.Dropout(0.2)

    def pooled(self, maps: torch.Tensor, frozen: torch.Tensor) -> torch.Tensor:
        expanded = self.top(maps.float())
        expanded = expanded if isinstance(expanded, tuple | list) else (expanded,)
        return torch.cat([frozen, *(f for m in expanded
                                    for f in (m.mean(dim=(2, 3)), m.amax(dim=(2, 3))))], dim=1)

    def forward(self, maps: torch.Tensor, frozen: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.dropout((self.pooled(maps, frozen) - self.mean) / self.std)
        return {k: self.heads[f"head_{k}"](x) for k in HEADS}

    def start_from(self, heads: Heads) -> None:
        """Begin at trained heads (`linear_heads` of an earlier run, the ones a graft kept):
        their folded standardisation unfolded into this net's."""
        with torch.no_grad():
            for k, weight in heads.weight.items():
                layer, w = self.heads[f"head_{k}"], torch.tensor(weight)
                layer.weight.copy_((w * self.std[:, None]).T)
                layer.bias.copy_(torch.tensor(heads.bias[k]) + self.mean @ w)

    def linear_heads(self, classes: dict[str, list[str]]) -> Heads:
        """The heads on raw pooled features: the standardisation folded into the weights."""
        weight, bias = {}, {}
        names = [name.removeprefix("head_") for name in self.heads]
        with torch.no_grad():
            for k in names:
                layer = self.heads[f"head_{k}"]
                w = layer.weight.T / self.std[:, None]
                weight[k] = w.numpy().astype(np.float32)
                bias[k] = (layer.bias - self.mean @ w).numpy().astype(np.float32)
        return Heads(weight, bias, {k: classes[k] for k in names})


def train_heads(views: Views, top: onnx.ModelProto, classes: dict[str, list[str]],
                params: LabelHeadsParams, gen: torch.Generator,
                start: Heads | None = None) -> HeadNet:
    """Fine-tune the top blocks and train the heads together (masked cross-entropy with label
    smoothing, AdamW, one cycle; the backbone at `--top-lr`, the heads at `--lr`), the heads
    from `start`'s where given."""
    net = HeadNet(top, views, classes, gen)
    if start is not None:
        net.start_from(start)
    opt = torch.optim.AdamW([{"params": net.top.parameters(), "lr": params.top_lr},
                             {"params": net.heads.parameters(), "lr": params.lr}],
                            weight_decay=params.weight_decay)
    steps = params.epochs * -(-len(views.maps) // TRAIN_BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[params.top_lr, params.lr],
                                                total_steps=steps, pct_start=0.15)
    net.train()
    with Progress(params.epochs * len(views.maps), "  fine-tuning", unit="views") as bar:
        for epoch in range(params.epochs):
            order = torch.randperm(len(views.maps), generator=gen)
            total = 0.0
            for start in range(0, len(order), TRAIN_BATCH):
                b = order[start : start + TRAIN_BATCH]
                logits = net(views.maps[b], views.frozen[b])
                y = {k: views.labels[k][b] for k in HEADS}
                loss = sum(F.cross_entropy(logits[k], y[k], ignore_index=-1, label_smoothing=0.1)
                           for k in HEADS if (y[k] >= 0).any())
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(b)
                bar.advance(len(b))
            log(f"  epoch {epoch + 1}/{params.epochs}: loss {total / len(order):.3f}")
    return net.eval()


def with_trained_top(cut: onnx.ModelProto, top: onnx.ModelProto, net: HeadNet) -> onnx.ModelProto:
    """The cut backbone with the convolution weights of `top` (the fine-tuned blocks) replaced
    by the trained ones."""
    trained_params = dict(net.top.named_parameters())
    top_nodes = {n.name for n in top.graph.node if n.op_type == "Conv"}
    trained = onnx.ModelProto()
    trained.CopyFrom(cut)
    inits = {t.name: t for t in trained.graph.initializer}
    replaced = 0
    for node in trained.graph.node:
        if node.name not in top_nodes:
            continue
        # onnx2torch names a Conv's module after its node, wrapped with its padding when the
        # padding is asymmetric ("<node>.1")
        for kind, init in zip(("weight", "bias"), node.input[1:3], strict=False):
            found = [p for name, p in trained_params.items()
                     if name in (f"{node.name}.{kind}", f"{node.name}.1.{kind}")]
            assert len(found) == 1, f"no single trained {kind} for {node.name}"
            value = found[0].detach().numpy().astype(np.float32)
            assert tuple(inits[init].dims) == value.shape, f"{init}: shape changed"
            inits[init].CopyFrom(numpy_helper.from_array(value, init))
            replaced += value.size
    n_params = sum(p.numel() for p in net.top.parameters())
    assert replaced == n_params, f"wrote {replaced} of {n_params} trained weights back"
    return trained
