"""The embedder's training loop: fine-tune stages 2-4, the attention and the projection on cached
views with the proxy losses, then fit the colour head on the trained attention.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from companion.progress import Progress
from training.embedder.augment import augment_catalog, clean_batch
from training.embedder.data import Catalog, TrainingData
from training.embedder.loss import LOSS_WEIGHTS, ProxyLoss
from training.embedder.model import ColourHead, GarmentEmbedder, load_nanodet_weights
from training.embedder.params import EmbedderParams
from training.embedder.views import cache_views
from training.log import log


def lr_at(step: int, steps: int, warmup: int) -> float:
    """Linear warm-up then cosine decay to 2% (a multiplier of each group's base rate)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def embed_all(model: nn.Module, images: torch.Tensor, size: int, batch: int = 128):
    """Embeddings of clean (un-augmented) letterboxed images."""
    model.eval()
    out = [model(clean_batch(images[i : i + batch], size)) for i in range(0, len(images), batch)]
    model.train()
    return torch.cat(out)


def monitor(model: nn.Module, val: Catalog, size: int) -> dict[str, float]:
    """Leave-one-out R@1 inside the monitoring slice (never the evaluation's query rows)."""
    if len(val.ids) < 2:
        return {}
    emb = embed_all(model, val.images, size)
    return loo_recall(emb, val)


def loo_recall(emb: torch.Tensor, val: Catalog) -> dict[str, float]:
    """R@1 of each monitoring product against the others (type; type + colour)."""
    sim = emb @ emb.T
    sim.fill_diagonal_(-2)
    nn1 = sim.argmax(dim=1)
    t, c = val.labels["type"], val.labels["colour"]
    type_hit = (t[nn1] == t).float()
    return {"val_type_r1": type_hit.mean().item(),
            "val_type_colour_r1": (type_hit * (c[nn1] == c).float()).mean().item()}


def train(params: EmbedderParams, data: TrainingData,
          gen: torch.Generator) -> tuple[GarmentEmbedder, dict[str, torch.Tensor]]:
    """Fine-tune the embedder; returns the trained model (eval mode) and its class proxies."""
    cat, val, street = data.cat, data.val, data.street
    model = GarmentEmbedder(params.dim)
    load_nanodet_weights(model.backbone, params.init)
    for module in model.backbone.frozen_modules():
        module.requires_grad_(False)
    log(f"caching frozen stride-8 features of {params.views} views per image")
    cache = cache_views(model, cat, street, params, gen)

    losses = {k: ProxyLoss(len(cat.classes[k]), params.dim) for k in LOSS_WEIGHTS}
    trained = [p for p in model.backbone.parameters() if p.requires_grad]
    groups = [
        {"params": trained, "lr": params.lr},
        {"params": [*model.attention.parameters(), *model.project.parameters()],
         "lr": params.lr * 10},
        {"params": [loss.proxies for loss in losses.values()], "lr": params.lr * 50,
         "weight_decay": 0.0},
    ]
    for g in groups:
        g["base_lr"] = g["lr"]
    opt = torch.optim.AdamW(groups, weight_decay=1e-4)
    warmup = min(100, max(1, params.steps // 10))

    def save() -> None:
        params.work.mkdir(parents=True, exist_ok=True)
        torch.save({"model": model.state_dict(),
                    "proxies": {k: loss.proxies.detach() for k, loss in losses.items()}},
                   params.work / "checkpoint.pt")

    log(f"training {params.steps} steps of {params.batch} cached views at {params.size}px "
        f"on {params.threads} threads (seed {params.seed})")
    history = []
    with Progress(params.steps, "training", unit="steps") as bar:
        for step in range(params.steps):
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * lr_at(step, params.steps, warmup)
            idx = torch.multinomial(cache.weights, params.batch, replacement=True, generator=gen)
            emb = model.head(cache.features[idx].float())
            parts = {k: losses[k](emb, cache.labels[k][idx]) for k in LOSS_WEIGHTS}
            loss = sum(LOSS_WEIGHTS[k] * v for k, v in parts.items())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(loss.item())
            bar.advance()
            if (step + 1) % params.log_every == 0 or step + 1 == params.steps:
                detail = " ".join(f"{k} {v.item():.2f}" for k, v in parts.items())
                log(f"step {step + 1}/{params.steps} loss "
                    f"{np.mean(history[-params.log_every:]):.3f} ({detail}) "
                    f"lr {opt.param_groups[0]['lr']:.2e}")
            if params.eval_every and ((step + 1) % params.eval_every == 0
                                    or step + 1 == params.steps):
                log(f"monitor after step {step + 1}: {monitor(model, val, params.size)}")
                save()
    save()
    model.eval()
    return model, {k: loss.proxies.detach() for k, loss in losses.items()}


def load_checkpoint(path: Path, dim: int) -> tuple[GarmentEmbedder, dict[str, torch.Tensor]]:
    state = torch.load(path, weights_only=True)
    model = GarmentEmbedder(dim)
    model.load_state_dict(state["model"])
    return model.eval(), state["proxies"]


@torch.no_grad()
def colour_inputs(model: GarmentEmbedder, head: ColourHead, x: torch.Tensor) -> torch.Tensor:
    return head.histograms(x, model.head_and_attention(model.backbone.frozen(x))[1])


def fit_colour_head(model: GarmentEmbedder, data: TrainingData, params: EmbedderParams,
                    gen: torch.Generator) -> ColourHead:
    """Train the baseColour MLP on histograms of clean and street-like views of training products.

    The histograms use the trained garment attention, so they are computed after training;
    the embedder itself stays fixed here.
    """
    cat = data.cat
    head = ColourHead(len(cat.classes["colour"]))
    inputs, labels = [], []
    with Progress(len(cat.ids) * params.colour_views, "  colour histograms", unit="views") as bar:
        for view in range(params.colour_views):
            for start in range(0, len(cat.ids), 128):
                idx = torch.arange(start, min(start + 128, len(cat.ids)))
                x = (clean_batch(cat.images[idx], params.size) if view == 0 else
                     augment_catalog(cat, idx, data.street, params.size, gen, params.paste_p))
                inputs.append(colour_inputs(model, head, x))
                labels.append(cat.labels["colour"][idx])
                bar.advance(len(idx))
    x, y = torch.cat(inputs), torch.cat(labels)
    x, y = x[y >= 0], y[y >= 0]
    opt = torch.optim.AdamW(head.mlp.parameters(), lr=2e-3, weight_decay=1e-2)
    epochs = params.colour_epochs
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), 512):
            i = order[start : start + 512]
            loss = F.cross_entropy(head.mlp(x[i]), y[i], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            log(f"  colour head epoch {epoch + 1}/{epochs} loss {loss.item():.3f}")
    head.eval()
    if len(data.val.ids):
        xv = torch.cat([colour_inputs(model, head, clean_batch(data.val.images[i : i + 128],
                                                                params.size))
                        for i in range(0, len(data.val.ids), 128)])
        yv = data.val.labels["colour"]
        with torch.no_grad():
            right = (head.mlp(xv).argmax(1) == yv)[yv >= 0].float().mean().item()
        log(f"colour head: monitoring-slice baseColour accuracy {right:.3f}")
    return head
