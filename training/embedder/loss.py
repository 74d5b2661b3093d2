"""The embedder's losses: a normalised-softmax proxy loss per label set, and their weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# how much each label set's proxy loss counts (label sets: training/embedder/data.py)
LOSS_WEIGHTS = {"fine": 1.0, "type": 1.0, "kind": 1.0, "colour": 0.7, "gender": 0.3,
                "street": 1.0}


class ProxyLoss(nn.Module):
    """Normalised-softmax loss against one learnt proxy per class (fast to converge on CPU)."""

    TEMPERATURE = 0.05

    def __init__(self, classes: int, dim: int, temperature: float = TEMPERATURE) -> None:
        super().__init__()
        self.proxies = nn.Parameter(torch.randn(classes, dim) * 0.1)
        self.temperature = temperature

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        keep = labels >= 0
        if not keep.any():
            return emb.sum() * 0
        logits = emb[keep] @ F.normalize(self.proxies, dim=1).T / self.temperature
        return F.cross_entropy(logits, labels[keep])
