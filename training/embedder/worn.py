"""Worn crops: the garment of each training product photographed on a person, cut out the way
the object-level index cuts it, as one more training image of that product.

Why: a look asks with a garment's crop, and the index keeps a worn product by its crop too
(companion/catalog/views.py), but the models learnt catalog photos whole: "a person in a kurta
and leggings" was a kurta. Each crop carries its own product's labels (issue 28: worn-crop ↔
product pairs from the index rows only), so the models learn to name a garment cut from a
model shot as they name its packshot.

The crops are found by the companion's own `ProductViews` (MoveNet, then the garment detector's
box of the product's category), so training sees exactly what an index build keeps. Only the
training products are read (`read_training_rows`: index rows less the monitoring slice).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from companion.catalog.categories import category_of
from companion.catalog.views import ProductViews, finders_fingerprint
from companion.inference.store import ModelStore
from companion.pipeline.decode import decode_image
from companion.progress import Progress
from training.embedder.data import Catalog, TrainingSplit, garment_masks, read_training_rows
from training.log import log
from training.pixels import letterbox


def find_worn_crops(data: Path, rows: list[dict], size: int,
                    store: ModelStore) -> tuple[list[int], np.ndarray]:
    """(row of each crop, [K,S,S,3] letterboxed crops) for the rows whose photo shows a person
    wearing a garment of the product's category, found the way an index build finds it."""
    views = ProductViews(store)
    found, crops = [], []
    with Progress(len(rows), "  finding worn garments", unit="photos") as bar:
        for i, row in enumerate(rows):
            image = decode_image((data / "catalog" / row["image_link"]).read_bytes())
            category = category_of(row.get("product_type", ""),
                                   row.get("google_product_category", ""))
            view = views.view(image.pixels, category)
            if view.crop is not None:
                found.append(i)
                crops.append(letterbox(Image.fromarray(view.pixels), size))
            bar.advance()
    return found, (np.stack(crops) if crops else np.empty((0, size, size, 3), np.uint8))


def worn_crops_key(store: ModelStore) -> str:
    """What the worn crops are stale by, fit for a file name: the models and settings that find
    them (``finders_fingerprint``). Anything computed from the crops is named by it too."""
    return finders_fingerprint(store).replace("/", "-").replace(",", "-")


def with_worn_crops(cat: Catalog, split: TrainingSplit, work: Path,
                    store: ModelStore) -> Catalog:
    """`cat` (the split's training products, `load_training_data`) and, after it, one more
    product per worn crop with the labels of the product it was cut from. The crops are cached
    in `work`, named by the models and settings of `store` that find them (`worn_crops_key`)."""
    rows, _ = read_training_rows(split.data, split.val_fraction, split.limit)
    assert [r["id"] for r in rows] == cat.ids, "cat must be the split's training products"
    cache = work / f"worn-crops-{len(rows)}-{split.cache_size}-{worn_crops_key(store)}.pt"
    if cache.exists():
        stored = torch.load(cache)
        found, crops = stored["found"], stored["crops"].numpy()
        log(f"read {len(found)} worn crops from {cache}")
    else:
        found, crops = find_worn_crops(split.data, rows, split.cache_size, store)
        work.mkdir(parents=True, exist_ok=True)
        torch.save({"found": found, "crops": torch.from_numpy(crops)}, cache)
    log(f"worn crops: {len(found)} of {len(rows)} training products show their garment worn")
    idx = torch.tensor(found, dtype=torch.long)
    images = torch.from_numpy(crops)
    return Catalog(ids=[*cat.ids, *(f"{cat.ids[i]}#worn" for i in found)],
                   images=torch.cat([cat.images, images]),
                   masks=torch.cat([cat.masks, garment_masks(images)]),
                   labels={k: torch.cat([v, v[idx]]) for k, v in cat.labels.items()},
                   classes=cat.classes)
