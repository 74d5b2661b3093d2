"""Catalog bags pasted beside the people of street photos: more bag examples for the detector.

Why: bags are the garment the detector finds least (street test recall 0.39). On street trainval
the right candidate exists for most bags but scores under the threshold, so the network has to
learn to score bags higher. The catalog holds hundreds of bag packshots on studio white, whose
outline the backdrop gives away: cut out and pasted beside a person, at the size and place street
bags have relative to their wearer (measured on trainval's own labels), each is a new labelled
bag in a real street scene. Only index rows outside the monitoring slice are read, never the
query rows, and only 168x224 photos (a 60x80 bag would be enlarged into a blur).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from companion.catalog.categories import category_of
from companion.pipeline.outfit import inside_share
from companion.types import Box
from training.data.catalog import read_feed
from training.pixels import read_rgb, studio_garment

# Street trainval bags against their wearer's box (5th-95th percentiles of 539 labelled bags):
# height 0.09-0.42 of the person's height (median 0.22), centre 0.29-0.73 of the way down.
HEIGHT_SHARE = (0.12, 0.38)
CENTRE_DOWN = (0.35, 0.68)
CENTRE_ACROSS = (0.15, 0.45)  # from the person's centre towards either side, in person widths
MIN_SOURCE_HEIGHT = 200  # the 168x224 catalog photos
MAX_WIDTH_SHARE = 0.3  # a bag's width against the person's height (95th percentile 0.24)
HOLE_WHITE = 245  # pure studio white inside the bag's outline: the backdrop through a handle
MIN_HOLE = 30  # pixels; smaller white spots are the bag's own highlights
MAX_COVER = 0.3  # a pasted bag may hide at most this share of a labelled bag


@dataclass(frozen=True)
class BagCutout:
    """A catalog bag cut from its studio backdrop: pixels cropped to the bag, and their alpha."""

    product_id: str
    pixels: np.ndarray  # [H, W, 3] uint8
    alpha: np.ndarray  # [H, W] float32, 0 (backdrop) .. 1 (bag)


def bag_cutouts(catalog: Path) -> list[BagCutout]:
    """Every usable bag packshot of the catalog's training rows, cut out."""
    from scipy import ndimage

    feed = read_feed(catalog)
    monitoring = {r["id"] for r in feed.monitoring_rows()}
    cutouts = []
    for row in feed.rows_of("index"):
        if row["id"] in monitoring or category_of(
                row["product_type"], row["google_product_category"]) != "bag":
            continue
        pixels = read_rgb(feed.image(row))
        if pixels.shape[0] < MIN_SOURCE_HEIGHT:
            continue
        bag = studio_garment(pixels, closing=2)
        # the backdrop seen through a handle's loop is white too, but not joined to the border
        holes, count = ndimage.label(bag & (pixels.min(axis=2) >= HOLE_WHITE))
        sizes = ndimage.sum(np.ones_like(holes), holes, index=np.arange(1, count + 1))
        bag &= ~np.isin(holes, 1 + np.flatnonzero(sizes >= MIN_HOLE))
        if not 0.05 <= bag.mean() <= 0.9:  # nothing found, or no backdrop around it
            continue
        rows, cols = np.flatnonzero(bag.any(axis=1)), np.flatnonzero(bag.any(axis=0))
        y1, y2, x1, x2 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        alpha = ndimage.uniform_filter(bag[y1:y2, x1:x2].astype(np.float32), 3)
        cutouts.append(BagCutout(row["id"], pixels[y1:y2, x1:x2].copy(), alpha))
    return cutouts


def paste_bag(photo: np.ndarray, person: Box, bags: list[Box], cutout: BagCutout,
              rng: random.Random) -> tuple[np.ndarray, Box] | None:
    """``photo`` with ``cutout`` pasted beside ``person`` and its box (x1, y1, x2, y2), or None
    when no place inside the photo leaves the labelled ``bags`` visible (ten tries)."""
    px1, py1, px2, py2 = person
    photo_h, photo_w = photo.shape[:2]
    bag_h, bag_w = cutout.alpha.shape
    for _ in range(10):
        height = (py2 - py1) * rng.uniform(*HEIGHT_SHARE)
        width = height * bag_w / bag_h
        widest = MAX_WIDTH_SHARE * (py2 - py1)
        if width > widest:
            height, width = height * widest / width, widest
        side = rng.choice((-1, 1))
        cx = (px1 + px2) / 2 + side * (px2 - px1) * rng.uniform(*CENTRE_ACROSS)
        cy = py1 + (py2 - py1) * rng.uniform(*CENTRE_DOWN)
        box = (round(cx - width / 2), round(cy - height / 2),
               round(cx + width / 2), round(cy + height / 2))
        if (box[0] < 0 or box[1] < 0 or box[2] > photo_w or box[3] > photo_h
                or box[2] - box[0] < 8 or box[3] - box[1] < 8):
            continue
        if any(inside_share(labelled, box) > MAX_COVER for labelled in bags):
            continue
        size = (box[2] - box[0], box[3] - box[1])
        pixels = np.asarray(Image.fromarray(cutout.pixels).resize(size, Image.LANCZOS),
                            dtype=np.float32)
        alpha = np.asarray(Image.fromarray(cutout.alpha).resize(size, Image.BILINEAR))[..., None]
        pixels *= rng.uniform(0.7, 1.05)  # studio light is brighter than most streets
        region = photo[box[1]:box[3], box[0]:box[2]].astype(np.float32)
        out = photo.copy()
        out[box[1]:box[3], box[0]:box[2]] = np.clip(
            alpha * pixels + (1 - alpha) * region, 0, 255).astype(np.uint8)
        return out, box
    return None
