"""The embedder's networks: NanoDet's backbone rebuilt in torch, attention pooling and
projection (the learnt embedding), the colour descriptor and head, and what is exported.

Every part of the shipped embedding has unit length and a weight (`PartWeights`), so a cosine
between two exported vectors is a weighted sum of part similarities.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


def conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with symmetric padding 1, as in the converted NanoDet graph."""
    return nn.Conv2d(cin, cout, 3, stride, 1)


class CSPStage(nn.Module):
    """One CSPDarknet-tiny stage: n pairs of (C->C/2, C/2->C/2) convs, a C->C conv, concat input."""

    def __init__(self, c: int, pairs: int) -> None:
        super().__init__()
        self.pairs = nn.ModuleList(
            nn.ModuleList([conv(c, c // 2), conv(c // 2, c // 2)]) for _ in range(pairs)
        )
        self.merge = conv(c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for first, second in self.pairs:
            a = F.leaky_relu(first(h), 0.1)
            b = F.leaky_relu(second(a), 0.1)
            h = torch.cat([b, a], dim=1)
        return torch.cat([F.leaky_relu(self.merge(h), 0.1), x], dim=1)

    def convs(self) -> list[nn.Conv2d]:
        return [c for pair in self.pairs for c in pair] + [self.merge]


class NanoDetBackbone(nn.Module):
    """NanoDet's CSPDarknet-tiny backbone; returns the stride-8, -16 and -32 feature maps."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv(3, 32, 2)
        self.stem2 = conv(32, 32)
        self.stage1 = CSPStage(32, 1)
        self.down1 = conv(64, 64, 2)
        self.stage2 = CSPStage(64, 2)
        self.down2 = conv(128, 128, 2)
        self.stage3 = CSPStage(128, 2)
        self.down3 = conv(256, 256, 2)
        self.stage4 = CSPStage(256, 3)

    def convs(self) -> list[nn.Conv2d]:
        """All convolutions in the order of the ONNX graph (for loading its weights)."""
        return [self.stem, self.stem2, *self.stage1.convs(), self.down1, *self.stage2.convs(),
                self.down2, *self.stage3.convs(), self.down3, *self.stage4.convs()]

    def frozen(self, x: torch.Tensor) -> torch.Tensor:
        """Stem, stage 1 and the stride-8 downsampling: kept frozen, so their output is cached."""
        x = F.leaky_relu(self.stem(x), 0.1)
        x = F.max_pool2d(x, 3, 2, 1)
        x = F.leaky_relu(self.stem2(x), 0.1)
        return F.leaky_relu(self.down1(self.stage1(x)), 0.1)

    def trained(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stages 2-4 (fine-tuned) on the frozen part's output: the stride-8, -16, -32 maps."""
        s8 = self.stage2(x)
        s16 = self.stage3(F.leaky_relu(self.down2(s8), 0.1))
        return s8, s16, self.stage4(F.leaky_relu(self.down3(s16), 0.1))

    def frozen_modules(self) -> list[nn.Module]:
        return [self.stem, self.stem2, self.stage1, self.down1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.trained(self.frozen(x))


def load_nanodet_weights(backbone: NanoDetBackbone, onnx_path: Path) -> None:
    """Copy the conv weights of the stop-gap ONNX (graph order) into the torch backbone."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    inits = {i.name: i for i in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type == "Conv"]
    convs = backbone.convs()
    assert len(nodes) == len(convs), f"{len(nodes)} ONNX convs, {len(convs)} torch convs"
    with torch.no_grad():
        for node, layer in zip(nodes, convs, strict=True):
            w = torch.from_numpy(numpy_helper.to_array(inits[node.input[1]]).copy())
            b = torch.from_numpy(numpy_helper.to_array(inits[node.input[2]]).copy())
            assert w.shape == layer.weight.shape, (node.name, w.shape, layer.weight.shape)
            layer.weight.copy_(w)
            layer.bias.copy_(b)


class GarmentEmbedder(nn.Module):
    """Backbone + garment-attention pooling + projection to an L2-normalised embedding.

    Input: NCHW float32 RGB in 0..1 (any size; trained at --size). Output: [N, dim], unit norm.
    The attention map (from stride-32 features) pools both the stride-32 and stride-8 maps, so
    the embedding's colour and texture come from the garment rather than from the background.
    """

    def __init__(self, dim: int = 256) -> None:
        super().__init__()
        self.backbone = NanoDetBackbone()
        self.attention = nn.Conv2d(512, 1, 1)
        nn.init.zeros_(self.attention.weight)
        nn.init.zeros_(self.attention.bias)
        self.project = nn.Linear(512 + 512 + 256 + 128, dim)

    @staticmethod
    def _pool(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        if logits.shape[-2:] != x.shape[-2:]:
            logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
        w = torch.softmax(logits.flatten(2), dim=-1)  # [N,1,HW]
        return (x.flatten(2) * w).sum(-1)

    def head(self, frozen: torch.Tensor) -> torch.Tensor:
        """Embedding from the frozen part's output (what training runs on cached features)."""
        return self.head_and_attention(frozen)[0]

    def head_and_attention(self, frozen: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The embedding and the garment-attention logits ([N,1,h,w] at stride 32)."""
        s8, s16, s32 = self.backbone.trained(frozen)
        logits = self.attention(s32)
        pooled = torch.cat([self._pool(s32, logits), s32.mean(dim=(2, 3)),
                            self._pool(s16, logits), self._pool(s8, logits)], dim=1)
        return F.normalize(self.project(pooled), dim=1), logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.frozen(x))


class ColourDescriptor(nn.Module):
    """A fixed soft colour histogram of the garment's pixels (no weights to train).

    Pixels are pooled with the learnt garment attention (so a street background counts little)
    and, optionally, studio-white pixels are dropped; each pixel is softly assigned to a
    levels^3 grid of RGB colours. The histogram is Hellinger-normalised (square root, unit
    length), so a dot product of two histograms is their Bhattacharyya coefficient.

    The bin centres are a full grid, so a pixel's Gaussian soft assignment over all levels^3
    bins is the product of one softmax over the levels per channel. Computing it that way
    (`soft_assignment`) gives the same histogram as the joint softmax at a fraction of the
    cost: the joint one was over half of the exported model's CPU time.
    """

    def __init__(self, levels: int = 6, grid: int = 32, skip_white: bool = True) -> None:
        super().__init__()
        axis = (torch.arange(levels, dtype=torch.float32) + 0.5) / levels
        self.register_buffer("axis", axis, persistent=False)
        self.sigma2 = (0.6 / levels) ** 2
        self.grid = grid
        self.levels = levels
        self.skip_white = skip_white

    def soft_assignment(self, px: torch.Tensor) -> torch.Tensor:
        """[N,3,P] pixel colours in 0..1 -> [N,3,P,levels] per-channel soft level assignment."""
        return torch.softmax(-((px.unsqueeze(-1) - self.axis) ** 2) / (2 * self.sigma2), dim=-1)

    def forward(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        px = F.adaptive_avg_pool2d(x, self.grid)  # [N,3,g,g]
        att = F.interpolate(logits, size=(self.grid, self.grid), mode="bilinear",
                            align_corners=False)
        weight = torch.softmax(att.flatten(1), dim=1)  # [N,P]
        if self.skip_white:
            weight = weight * torch.sigmoid((0.93 - px.min(dim=1).values.flatten(1)) * 60)
        red, green, blue = self.soft_assignment(px.flatten(2)).unbind(1)  # [N,P,L] each
        red_green = (red * weight.unsqueeze(-1)).unsqueeze(-1) * green.unsqueeze(-2)
        hist = torch.bmm(red_green.flatten(2).transpose(1, 2), blue)  # [N,L*L,L]: r, g, b order
        return F.normalize((hist.flatten(1) + 1e-6).sqrt(), dim=1)


class ColourHead(nn.Module):
    """baseColour probabilities from two garment colour histograms (white skipped, and not).

    Shoppers judge colour first, and the catalog's colour names follow conventions a histogram
    alone does not know (where "Navy Blue" ends and "Black" begins, what "Multi" means). A small
    MLP learns them from the labels; the white-inclusive histogram lets it see white garments,
    which the white-skipping one mostly drops.
    """

    def __init__(self, classes: int, levels: int = 6, hidden: int = 256) -> None:
        super().__init__()
        self.garment = ColourDescriptor(levels, skip_white=True)
        self.whole = ColourDescriptor(levels, skip_white=False)
        self.bins = levels**3  # histograms() is the garment's bins, then the whole crop's
        self.mlp = nn.Sequential(nn.Linear(2 * levels**3, hidden), nn.GELU(), nn.Dropout(0.2),
                                 nn.Linear(hidden, classes))

    def histograms(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.garment(x, logits), self.whole(x, logits)], dim=1)

    def probabilities(self, histograms: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.mlp(histograms), dim=1)


@dataclass
class PartWeights:
    """How much each part of the shipped embedding counts in a cosine similarity.

    Every part has unit length, so two embeddings' dot product is the weighted sum (weights
    squared) of: learnt-embedding cosine, colour-histogram overlap, and, for each label set, the
    Bhattacharyya overlap of the two predicted label distributions (sqrt probabilities).
    """

    histogram: float = 0.5
    type: float = 0.0
    gender: float = 0.0
    kind: float = 0.0
    street: float = 0.0
    colour: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in vars(self).items()}


LABEL_PARTS = ("type", "gender", "kind", "street")  # predicted from the learnt embedding's proxies


class ShippedEmbedder(nn.Module):
    """What is exported: the learnt embedding, a colour histogram and predicted label
    distributions (articleType, gender, kind, street class, baseColour), unit length together."""

    def __init__(self, model: GarmentEmbedder, proxies: dict[str, torch.Tensor],
                 colour_head: ColourHead, weights: PartWeights, temperature: float) -> None:
        super().__init__()
        self.model, self.colour_head, self.weights = model, colour_head, weights
        self.temperature = temperature
        for key in LABEL_PARTS:
            self.register_buffer(f"proxies_{key}", F.normalize(proxies[key], dim=1))

    def label_probabilities(self, emb: torch.Tensor, key: str) -> torch.Tensor:
        return torch.softmax(emb @ getattr(self, f"proxies_{key}").T / self.temperature, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emb, logits = self.model.head_and_attention(self.model.backbone.frozen(x))
        w = self.weights
        parts = [emb]
        hists = self.colour_head.histograms(x, logits) if w.histogram or w.colour else None
        if w.histogram > 0:
            parts.append(w.histogram * hists[:, : self.colour_head.bins])
        for key in LABEL_PARTS:
            if getattr(w, key) > 0:
                parts.append(getattr(w, key) * self.label_probabilities(emb, key).sqrt())
        if w.colour > 0:
            parts.append(w.colour * self.colour_head.probabilities(hists).sqrt())
        return F.normalize(torch.cat(parts, dim=1), dim=1)
