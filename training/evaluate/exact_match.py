"""Measure the score above which the panel may call a match "exact match".

    .venv/bin/python -m training.evaluate.exact_match [--index index/demo] [--samples 300]

The question the label answers: is this product the very one in the picture? We can measure
that on the catalog itself, the way a user meets it (right-clicking a shop's product photo):

* positives: photos of indexed products, each searched in its own category after the
  changes a shop page makes to the same photo (rescaled and re-encoded as JPEG, cropped a
  little, padded with a margin). The score of the product itself is what "exact" looks like.
* negatives: the best score of any *other* product — for held-out products (split "query",
  never indexed, so every hit is another product) and for the indexed ones (best non-self hit).

The threshold is the smallest 0.005 step above the 99.5th percentile of the negatives; the
script reports which share of positives clears it. If the changed photos (not the untouched
original, which only proves the index returns itself) mostly fall below it, no threshold
separates "the same product" from "another product" and the panel must never say "exact match".
Scores are 1 − cosine distance, as in the index. Numbers for the shipped embedder are quoted in
companion/panel/layout.py.
"""

from __future__ import annotations

import io
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from companion.catalog.categories import category_of
from companion.catalog.index import CatalogIndex
from companion.inference.embedder import Embedder
from companion.inference.store import ModelStore
from companion.pipeline.decode import decode_image
from training.data import data_root
from training.data.catalog import read_feed
from training.params import cli, parse
from training.paths import REPO

SELF_DEPTH = 100  # how deep to look for the product itself
MIN_RECALL = 0.5  # a label that misses most real exact matches is not worth showing


def variants(data: bytes) -> dict[str, np.ndarray]:
    """The product photo as shops and screenshots change it."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    width, height = image.size
    small = image.resize((max(1, width // 2), max(1, height // 2)))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=70)
    cropped = image.crop((width * 0.05, height * 0.05, width * 0.95, height * 0.95))
    padded = ImageOps.expand(image, border=width // 8, fill=(255, 255, 255))
    return {
        "original": decode_image(data).pixels,
        "half_jpeg70": decode_image(buffer.getvalue()).pixels,
        "crop90": np.asarray(cropped),
        "pad12": np.asarray(padded),
    }


@dataclass(kw_only=True)
class ExactMatchParams:
    """Which index to measure, with how many samples."""

    index: Path = field(default=REPO / "index" / "demo", metadata=cli())
    samples: int = field(default=300, metadata=cli())
    seed: int = field(default=0, metadata=cli())


def main(argv: list[str] | None = None) -> int:
    params = parse(ExactMatchParams, argv, description=__doc__.split("\n")[0])

    index = CatalogIndex(params.index)
    embedder = Embedder(ModelStore(), index.manifest.embedder)
    catalog = read_feed(data_root() / "catalog")
    split = catalog.split
    feed = {r["id"]: r for r in catalog.rows}
    rng = random.Random(params.seed)
    indexed = [i for i in feed if split.get(i) == "index" and index.product(i)]
    held_out = [i for i in feed if split.get(i) == "query"]
    positives: dict[str, list[float]] = {}
    negatives: list[float] = []

    for product_id in rng.sample(indexed, min(params.samples, len(indexed))):
        row = index.product(product_id)
        data = Path(row["image_path"]).read_bytes()
        for name, pixels in variants(data).items():
            vector = embedder.predict([pixels])[0]
            # no gender filter, here and below: every product competes
            matches = index.search(row["category"], vector, SELF_DEPTH)
            self_score = next((m.score for m in matches if m.id == product_id), math.nan)
            positives.setdefault(name, []).append(self_score)
            if name == "original":
                others = [m.score for m in matches if m.id != product_id]
                negatives.extend(others[:1])

    held_scores = []
    for product_id in rng.sample(held_out, min(params.samples, len(held_out))):
        row = feed[product_id]
        path = catalog.image(row)
        category = category_of(row["product_type"], row.get("google_product_category", ""))
        vector = embedder.predict([decode_image(path.read_bytes()).pixels])[0]
        matches = index.search(category, vector, 1)
        if matches:
            held_scores.append(matches[0].score)
    negatives.extend(held_scores)

    negatives_arr = np.array(negatives)
    threshold = math.ceil(float(np.percentile(negatives_arr, 99.5)) / 0.005) * 0.005
    print(f"index {params.index} ({index.manifest.embedder}), {params.samples} samples per group")
    print(f"negatives (best other product): n={len(negatives_arr)} "
          f"p50={np.percentile(negatives_arr, 50):.4f} p99={np.percentile(negatives_arr, 99):.4f} "
          f"p99.5={np.percentile(negatives_arr, 99.5):.4f} max={negatives_arr.max():.4f}")
    print(f"held-out top-1: n={len(held_scores)} p50={np.median(held_scores):.4f} "
          f"max={max(held_scores):.4f}")
    print(f"threshold (0.005 step above p99.5 of negatives): {threshold:.3f}")
    for name, scores in positives.items():
        arr = np.array(scores)
        found = arr[~np.isnan(arr)]
        median = f"{np.median(found):.4f}" if len(found) else "-"
        cleared = np.mean(np.nan_to_num(arr, nan=-1.0) >= threshold)
        print(f"self score, {name:<12} in top {SELF_DEPTH}: {len(found) / len(arr):.0%}, "
              f"median there {median}, ≥ threshold: {cleared:.1%}")
    print(f"negatives ≥ threshold: {np.mean(negatives_arr >= threshold):.2%}")
    changed = [s for name, scores in positives.items() if name != "original" for s in scores]
    recall = float(np.mean(np.nan_to_num(np.array(changed), nan=-1.0) >= threshold))
    if threshold > 0.999 or recall < MIN_RECALL:
        print(f"verdict: no usable threshold (changed photos clear it {recall:.0%}); "
              f"never label {index.manifest.embedder} matches exact")
    else:
        print(f"verdict: EXACT_MATCH_THRESHOLDS[{index.manifest.embedder!r}] = {threshold:.3f} "
              f"(changed photos clear it {recall:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
