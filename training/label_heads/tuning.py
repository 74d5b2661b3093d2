"""How much each head counts next to the embedder's own parts: tuned with the embedder's tuning
queries (monitoring slice, held-out street boxes; never the evaluation's queries).
"""

from __future__ import annotations

import itertools

import numpy as np
import onnxruntime as ort
import torch

from training.embedder.data import TrainingData
from training.embedder.tuning import TuningQueries
from training.label_heads.backbone import HEADS
from training.label_heads.heads import Branch
from training.label_heads.inputs import GraftInput
from training.label_heads.parts import parts_of
from training.log import log


def base_scale(manifest: dict) -> float:
    """Length of the embedder's weighted parts before its own normalisation (learnt part: 1)."""
    weights = manifest["provenance"]["parts"]["weights"]
    return float(np.sqrt(1 + sum(w * w for w in weights.values())))


# the head weights tried: articleType, gender, kind, street class, baseColour
WEIGHT_GRID = {"type": (0.0, 0.5, 1.0, 1.5, 2.0), "gender": (0.0, 0.5, 1.0, 1.5),
               **dict.fromkeys(("kind", "street", "colour"), (0.0, 0.5, 1.0, 1.5, 2.0, 2.5))}


def tune(data: TrainingData, base: ort.InferenceSession, branches: list[Branch],
         scale: float, shape: GraftInput) -> dict[str, float]:
    """Head weights with the best sum of the embedder's tuning scores (`TuningQueries`); a head
    that no branch has keeps weight 0."""
    present = [k for k in HEADS if any(k in b.heads.weight for b in branches)]
    if len(data.val.ids) < 20:  # smoke runs: too few monitoring products to tune on
        return {k: 0.5 if k in present else 0.0 for k in HEADS}
    log(f"tuning head weights: {len(data.val.ids)} monitoring products and "
        f"{len(data.street_val.crops)} held-out street boxes search {len(data.cat.ids)} "
        f"training products")
    gallery = parts_of(data.cat.images, base, branches, shape)
    queries = {"val": parts_of(data.val.images, base, branches, shape)}
    if len(data.street_val.crops):
        queries["street"] = parts_of(data.street_val.crops, base, branches, shape)
    for k in present:
        hit = (queries["val"].heads[k].argmax(1) == data.val.labels[k].numpy())
        known = data.val.labels[k].numpy() >= 0
        if known.any():
            log(f"  {k} head names {hit[known].mean():.3f} of the monitoring products' labels")
    sims = {q: {"base": torch.from_numpy(p.base @ gallery.base.T) * scale ** 2,
                **{k: torch.from_numpy(p.heads[k] @ gallery.heads[k].T) for k in present}}
            for q, p in queries.items()}
    rule = TuningQueries.of(data)

    def score(w: dict[str, float]) -> list[float]:
        def weighted(s: dict[str, torch.Tensor]) -> torch.Tensor:
            return s["base"] + sum(w[k] ** 2 * s[k] for k in present)
        return rule.scores(weighted(sims["val"]),
                           weighted(sims["street"]) if "street" in sims else None)

    base_scores = score(dict.fromkeys(HEADS, 0.0))
    log(f"  embedder alone: {TuningQueries.describe(base_scores)}")
    best, best_sum = dict.fromkeys(HEADS, 0.0), sum(base_scores)
    for values in itertools.product(*(WEIGHT_GRID[k] if k in present else (0.0,)
                                      for k in HEADS)):
        w = dict(zip(HEADS, values, strict=True))
        scores = score(w)
        if sum(scores) > best_sum:
            best, best_sum = w, sum(scores)
            log(f"  better: {w}: {TuningQueries.describe(scores)}")
    log(f"chosen head weights: {best}")
    return best
