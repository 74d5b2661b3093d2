"""How much each part of the shipped embedding counts: picked on the embedder's own tuning
queries (the monitoring slice and held-out street boxes, never the evaluation's queries).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from training.embedder.augment import clean_batch
from training.embedder.data import TrainingData
from training.embedder.model import LABEL_PARTS, PartWeights, ShippedEmbedder
from training.embedder.params import EmbedderParams
from training.log import log


@dataclass
class TuningQueries:
    """The hit rules that part weights are tuned by (never the evaluation's queries).

    Monitoring products search the training products as the evaluation's queries search the
    index (same articleType, gender with unisex matching both; for the colour rule also the
    same baseColour), and held-out street boxes count the top-10 products of their street class.
    """

    same_type: torch.Tensor  # [Q,G] bool
    same_colour: torch.Tensor  # [Q,G] bool
    street_fits: torch.Tensor  # [B,G] bool
    street_labels: torch.Tensor  # [B]
    street_classes: list[int]  # classes with at least one fitting training product

    @classmethod
    def of(cls, data: TrainingData) -> TuningQueries:
        vl, gl, street = data.val.labels, data.cat.labels, data.street_val
        same_gender = ((vl["gender"][:, None] == gl["gender"][None])
                       | (vl["gender"][:, None] < 0) | (gl["gender"][None] < 0))
        return cls(
            same_type=(vl["type"][:, None] == gl["type"][None]) & same_gender,
            same_colour=vl["colour"][:, None] == gl["colour"][None],
            street_fits=street.crop_labels[:, None] == gl["street"][None],
            street_labels=street.crop_labels,
            street_classes=[c for c in street.crop_labels.unique().tolist()
                            if (gl["street"] == c).any()],
        )

    def scores(self, sim: torch.Tensor, street_sim: torch.Tensor | None) -> list[float]:
        """type R@1, type+colour R@1, type+colour R@10 and, with street boxes, the mean over
        classes of the top-10 share of the box's class; their sum is what tuning maximises."""
        return self.scores_of_top(
            sim.topk(10, dim=1).indices,
            None if street_sim is None else street_sim.topk(10, dim=1).indices)

    def scores_of_top(self, top: torch.Tensor, street_top: torch.Tensor | None) -> list[float]:
        """`scores` from the ten results of each query (gallery positions, best first), for
        rankings that are not a plain similarity order."""
        type_hit = self.same_type.gather(1, top)
        colour_hit = type_hit & self.same_colour.gather(1, top)
        scores = [type_hit[:, 0].float().mean().item(), colour_hit[:, 0].float().mean().item(),
                  colour_hit.any(1).float().mean().item()]
        if street_top is not None:
            share = self.street_fits.gather(1, street_top).float().mean(1)
            scores.append(float(np.mean([share[self.street_labels == c].mean().item()
                                         for c in self.street_classes])))
        return scores

    @staticmethod
    def describe(scores: list[float]) -> str:
        """`scores` as a log line names them."""
        names = ("type R@1", "type+colour R@1", "type+colour R@10", "street top-10 share")
        return ", ".join(f"{n} {s:.3f}" for n, s in zip(names, scores, strict=False))


@torch.no_grad()
def tune_weights(shipped: ShippedEmbedder, data: TrainingData,
                 params: EmbedderParams) -> PartWeights:
    """Pick the part weights without touching the evaluation's queries: the grid point with the
    best sum of `TuningQueries.scores` (monitoring products and held-out street boxes) wins."""
    val, gallery, street = data.val, data.cat, data.street_val
    if params.part_weights is not None:
        return params.part_weights
    if len(val.ids) < 2:  # tiny smoke runs: nothing to tune on
        return PartWeights(histogram=0.5, type=0.5, gender=0.5, kind=0.5, street=0.5,
                           colour=0.5)
    log(f"tuning part weights: {len(val.ids)} monitoring products and {len(street.crops)} "
        f"held-out street boxes search {len(gallery.ids)} training products")

    def parts(images: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, list[torch.Tensor]] = {}
        for i in range(0, len(images), 128):
            x = clean_batch(images[i : i + 128], params.size)
            emb, logits = shipped.model.head_and_attention(shipped.model.backbone.frozen(x))
            hists = shipped.colour_head.histograms(x, logits)
            got = {"embedding": emb, "histogram": hists[:, : shipped.colour_head.bins],
                   "colour": shipped.colour_head.probabilities(hists).sqrt()}
            for key in LABEL_PARTS:
                got[key] = shipped.label_probabilities(emb, key).sqrt()
            for k, v in got.items():
                out.setdefault(k, []).append(v)
        return {k: torch.cat(v) for k, v in out.items()}

    g = parts(gallery.images)
    v = parts(val.images)
    sims = {k: v[k] @ g[k].T for k in v}
    street_sims = {}
    if len(street.crops):
        s_parts = parts(street.crops)
        street_sims = {k: s_parts[k] @ g[k].T for k in s_parts}
    queries = TuningQueries.of(data)

    def weighted(all_sims: dict[str, torch.Tensor], w: PartWeights) -> torch.Tensor:
        return all_sims["embedding"] + sum(getattr(w, k) ** 2 * all_sims[k]
                                           for k in ("histogram", *LABEL_PARTS, "colour"))

    best, best_score = PartWeights(), -1.0
    grid = itertools.product((0.0, 0.5), (0.0, 0.5, 1.0), (0.0, 0.5, 1.0), (0.0, 0.5, 1.0),
                             (0.0, 0.5, 1.0, 1.5), (0.5, 1.0, 1.5, 2.0))
    for histogram, type_, gender, kind, street_w, colour in grid:
        w = PartWeights(histogram, type_, gender, kind, street_w, colour)
        scores = queries.scores(weighted(sims, w),
                                weighted(street_sims, w) if street_sims else None)
        if sum(scores) > best_score:
            best, best_score = w, sum(scores)
            log(f"  better: {w.as_dict()}: {TuningQueries.describe(scores)}")
    log(f"chosen part weights: {best.as_dict()}")
    return best
