"""Training views, computed once: each product and street box is augmented into `views` views
and run through the backbone's frozen layers, so training pays only for the layers it trains.

CPU budget: the stem and stage 1 stay frozen, so their stride-8 output is computed once per view
(1 clean + 9 augmented per product, 10 jittered per street box by default) and cached in RAM
(~6 GB at 160 px). The label heads (training/label_heads) cache their backbone's features of the
same views.
"""

from __future__ import annotations

import ctypes
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from companion.progress import Progress
from training.embedder.augment import augment_catalog, augment_street, clean_batch
from training.embedder.data import Catalog, Street
from training.embedder.loss import LOSS_WEIGHTS
from training.embedder.model import GarmentEmbedder
from training.embedder.params import EmbedderParams


def keep_memory_returnable() -> None:
    """Large buffers (augmented batches, feature maps) go back to the OS when freed.

    glibc raises its mmap threshold after the first large free and then keeps such buffers in
    the heap, where torch's and ONNX Runtime's allocations fragment it: without this, memory
    grew by about 0.5 MB per view while the label heads (training.label_heads) pooled
    43,000 views (over 20 GB, killed for memory). Both trainers cache views this way.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD: 1 MB, fixed


def sampling_weights(types: torch.Tensor) -> torch.Tensor:
    """Per-product sampling weights ~ 1/sqrt(type count): rare types are seen more often."""
    counts = Counter(types.tolist())
    return torch.tensor([1 / math.sqrt(counts[t]) for t in types.tolist()])


@dataclass
class ViewCache:
    """Frozen stride-8 features of augmented views, with the labels of their product or box."""

    features: torch.Tensor  # [V,C,h,w] float16: the frozen part's output
    labels: dict[str, torch.Tensor]  # label set -> [V], -1 = no label for this view
    weights: torch.Tensor  # [V] sampling weight


@dataclass
class ViewBatch:
    """A batch of training views and where they came from."""

    images: torch.Tensor  # [B,3,S,S] float 0..1
    idx: torch.Tensor  # [B] rows of the catalog, or of the street crops
    street: bool  # True: jittered street garment boxes

    def labels(self, cat: Catalog, street: Street, keys) -> dict[str, torch.Tensor]:
        """The views' labels: their product's, or for street boxes only the street class."""
        if not self.street:
            return {k: cat.labels[k][self.idx] for k in keys}
        none = torch.full((len(self.idx),), -1, dtype=torch.long)
        return {k: street.crop_labels[self.idx] if k == "street" else none for k in keys}


def training_views(cat: Catalog, street: Street, views: int, size: int, paste_p: float,
                   gen: torch.Generator, batch: int = 128) -> Iterator[ViewBatch]:
    """Each catalog product gets one clean view (like the studio photos of the index) and
    `views - 1` street-like views; each street garment box gets `views` jittered views.
    Views are `size` pixels square; `paste_p` of the street-like ones are pasted on streets."""
    for view in range(views):
        for start in range(0, len(cat.ids), batch):
            idx = torch.arange(start, min(start + batch, len(cat.ids)))
            if view == 0:
                x = clean_batch(cat.images[idx], size)
            else:
                x = augment_catalog(cat, idx, street, size, gen, paste_p)
            yield ViewBatch(x, idx, street=False)
        for start in range(0, len(street.crops), batch):
            idx = torch.arange(start, min(start + batch, len(street.crops)))
            yield ViewBatch(augment_street(street, idx, size, gen), idx, street=True)


@torch.no_grad()
def cache_views(model: GarmentEmbedder, cat: Catalog, street: Street, params: EmbedderParams,
                gen: torch.Generator) -> ViewCache:
    """Run the frozen layers once per view (`training_views`), so training only pays for
    stages 2-4 + head."""
    model.eval()
    total = (len(cat.ids) + len(street.crops)) * params.views
    feats = None
    labels = {k: [] for k in LOSS_WEIGHTS}
    weights: list[torch.Tensor] = []
    cat_w = sampling_weights(cat.labels["type"])
    street_w = torch.full((len(street.crops),), float(cat_w.mean()) * params.street_weight)
    done, bs = 0, 128
    with Progress(total, "  caching views", unit="views") as bar:
        for views in training_views(cat, street, params.views, params.size, params.paste_p,
                                    gen, bs):
            f = model.backbone.frozen(views.images).half()
            if feats is None:
                feats = torch.empty((total, *f.shape[1:]), dtype=torch.float16)
            feats[done : done + len(f)] = f
            done += len(f)
            bar.advance(len(f))
            for k, v in views.labels(cat, street, LOSS_WEIGHTS).items():
                labels[k].append(v)
            weights.append((street_w if views.street else cat_w)[views.idx])
    model.train()
    return ViewCache(feats, {k: torch.cat(v) for k, v in labels.items()}, torch.cat(weights))
