"""The body-gender training loop and the confidence below which the companion says "unknown"."""

from __future__ import annotations

import math
import random
import time

import numpy as np

from companion.progress import Progress
from training.gender.model import build_model, predict
from training.gender.params import GenderParams
from training.gender.samples import Sample, batches


def train(params: GenderParams, train_set: list[Sample], val_set: list[Sample]):
    """Fine-tune the backbone and the head (AdamW, warm-up then cosine) for `epochs` or until the
    time budget is spent; returns the network and the class that wraps it for export."""
    import torch

    torch.manual_seed(params.seed)
    rng = random.Random(params.seed)
    net, exported_cls = build_model()
    head_params = list(net.head.parameters())
    body_params = list(net.backbone.parameters())
    optimizer = torch.optim.AdamW(
        [{"params": body_params, "lr": params.lr * 0.3}, {"params": head_params, "lr": params.lr}],
        weight_decay=1e-3,
    )
    steps_per_epoch = math.ceil(len(train_set) / params.batch)
    total_steps = steps_per_epoch * params.epochs
    base_lrs = [params.lr * 0.3, params.lr]
    positives = sum(s.male for s in train_set)
    pos_weight = torch.tensor((len(train_set) - positives) / max(positives, 1))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    budget = params.minutes * 60
    started, step = time.time(), 0
    with Progress(len(train_set) * params.epochs, "training", unit="images") as bar:
        for epoch in range(params.epochs):
            net.train()
            running = 0.0
            for seen, (images, labels) in enumerate(batches(train_set, params.batch, rng), 1):
                # Progress is whichever is further along, steps or the time budget, so the
                # learning rate anneals fully even when a busy machine makes the run slower
                # than planned.
                progress = max(step / total_steps, (time.time() - started) / budget)
                if progress >= 1.0:
                    break
                for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                    group["lr"] = base * learning_rate_factor(progress)
                optimizer.zero_grad()
                loss = loss_fn(net(torch.from_numpy(images)), torch.from_numpy(labels))
                loss.backward()
                optimizer.step()
                step += 1
                running += float(loss.detach())
                bar.advance(len(labels))
                if step % 10 == 0 or step == total_steps:
                    left = budget - (time.time() - started)
                    print(f"epoch {epoch + 1}/{params.epochs} step {step}/{total_steps} "
                          f"loss {running / seen:.3f}, {left / 60:.1f} min of the budget left",
                          flush=True)
            val_acc = accuracy(predict(net, val_set, params.batch), val_set)
            print(f"epoch {epoch + 1}: validation accuracy {val_acc:.3f} ({len(val_set)} people)",
                  flush=True)
            if (time.time() - started) >= budget:
                print(f"stopping: the {params.minutes}-minute budget is spent", flush=True)
                break
    return net, exported_cls


def learning_rate_factor(progress: float, warmup: float = 0.1) -> float:
    """Linear warm-up, then cosine decay to zero at ``progress`` 1."""
    if progress < warmup:
        return progress / warmup
    return 0.5 * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))


def accuracy(probabilities: np.ndarray, samples: list[Sample]) -> float:
    """Share of samples whose gender the probabilities name (nan without samples)."""
    labels = np.array([s.male for s in samples])
    return float(((probabilities >= 0.5) == labels).mean()) if len(samples) else float("nan")


def pick_threshold(probabilities: np.ndarray, samples: list[Sample], target: float) -> float:
    """The lowest confidence at which answers are right ``target`` of the time in every source.

    Below it the companion says "unknown" instead of guessing: a wrong gender hides the right
    products, "unknown" only shows more. Each source (low-resolution pedestrians, catalog model
    shots) must reach the target on its own, so the easy catalog photos cannot carry the hard ones.
    """
    labels = np.array([s.male for s in samples])
    sources = np.array([s.source for s in samples])
    confidence = np.maximum(probabilities, 1 - probabilities)
    correct = (probabilities >= 0.5) == labels
    for threshold in np.arange(0.5, 0.96, 0.05):
        answered = confidence >= threshold - 1e-9
        precise = all(
            (answered & (sources == source)).sum() < 10
            or correct[answered & (sources == source)].mean() >= target
            for source in set(sources.tolist())
        )
        if precise:
            return round(float(threshold), 2)
    return 0.95
