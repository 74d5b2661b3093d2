"""What the embedder trains on, decoded once into RAM: the catalog's `index` rows (less a
monitoring slice) with their label sets, and street trainval photos (backgrounds and garment
boxes, less a held-out share whose boxes tune the part weights).

Label sets of a product:
  fine    articleType + baseColour (what a shopper calls "the same kind of thing")
  type    articleType, colour baseColour, gender (male/female; unisex has no gender label)
  kind    articleType + gender, the evaluation's "same kind of product" in one label
  street  a coarse class shared with street photos (shirt, jacket, pants, ... shoe), learnt
          from catalog images *and* from garment boxes of street trainval photos

Data rules (checked in code)
    * Only `index` rows of catalog/split.tsv are ever read for training: the `query` rows are the
      evaluation's queries (training.evaluate.retrieval).
    * Street images come from street/trainval.txt only; street/test.txt is for evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from companion.progress import Progress
from training.data.catalog import MONITORING_SALT, MONITORING_SHARE, held_out, read_feed
from training.data.street import read_annotations, read_split
from training.log import log
from training.pixels import letterbox, studio_garment

# Coarse street classes (the class names of ../shared/data/street/classes.txt) for each catalog
# articleType. Follows the street data's own convention: sweaters and sweatshirts are "shirt",
# outerwear is "jacket". Watches and belts have no street class (-1: no coarse loss).
STREET_CLASSES = ["shirt", "jacket", "pants", "shorts", "skirt", "dress", "shoe", "bag", "hat",
                  "sunglasses"]


COARSE_OF_TYPE = {
    **dict.fromkeys(["Tshirts", "Shirts", "Tops", "Kurtas", "Kurtis", "Tunics", "Sweatshirts",
                     "Sweaters"], "shirt"),
    **dict.fromkeys(["Jackets", "Blazers", "Rain Jacket", "Waistcoat", "Nehru Jackets", "Shrug"],
                    "jacket"),
    **dict.fromkeys(["Jeans", "Trousers", "Track Pants", "Leggings", "Jeggings", "Capris",
                     "Patiala", "Salwar", "Churidar", "Tracksuits"], "pants"),
    "Shorts": "shorts",
    "Skirts": "skirt",
    **dict.fromkeys(["Dresses", "Jumpsuit", "Rompers"], "dress"),
    **dict.fromkeys(["Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats", "Sandals",
                     "Sports Sandals", "Flip Flops"], "shoe"),
    **dict.fromkeys(["Handbags", "Backpacks", "Clutches", "Messenger Bag", "Duffel Bag",
                     "Rucksacks"], "bag"),
    "Caps": "hat",
    "Sunglasses": "sunglasses",
}


@dataclass(frozen=True)
class TrainingSplit:
    """Which products and street photos training reads, and the size they are decoded at.

    The embedder's own defaults: whatever trains on or tunes with its split (label heads,
    centring, consensus tuning) keeps the same monitoring slice and held-out street photos.
    """

    data: Path  # folder with catalog/ and street/
    limit: int | None = None  # only this many catalog products (smoke runs)
    val_fraction: float = MONITORING_SHARE  # share of index rows kept out of training (monitoring)
    street_val_fraction: float = 0.12  # share of street trainval photos kept out of training
    cache_size: int = 192  # size at which images are decoded into RAM


@dataclass
class Catalog:
    """Training products: decoded, letterboxed images plus integer labels per label set."""

    ids: list[str]
    images: torch.Tensor  # [N,S,S,3] uint8
    masks: torch.Tensor  # [N,1,S,S] float 0/1, 1 = garment (not studio background)
    labels: dict[str, torch.Tensor]  # label set -> [N] int64, -1 = no label
    classes: dict[str, list[str]]  # label set -> class names


def read_training_rows(data: Path, val_fraction: float, limit: int | None):
    """Catalog rows of the `index` split, divided into train and a small monitoring slice.

    `query` rows are dropped here, before any image is opened, so no evaluation query can leak
    into training. The monitoring slice is picked by a hash of the id (stable across runs).
    """
    feed = read_feed(data / "catalog")
    rows = feed.rows_of("index")
    assert all(feed.split[r["id"]] == "index" for r in rows), "query rows must never be trained on"
    if limit:
        rows = rows[:: max(1, len(rows) // limit)][:limit]

    train, val = [], []
    for r in rows:
        (val if held_out(r["id"], MONITORING_SALT, val_fraction) else train).append(r)
    return train, val


def class_index(values: list[str], skip: set[str] = frozenset()) -> tuple[torch.Tensor, list[str]]:
    """Integer labels for a list of strings (values in `skip` get -1)."""
    names = sorted({v for v in values if v not in skip})
    lookup = {n: i for i, n in enumerate(names)}
    return torch.tensor([lookup.get(v, -1) for v in values], dtype=torch.long), names


def garment_masks(images: torch.Tensor) -> torch.Tensor:
    """Soft garment masks of studio photos: everything but the backdrop (near-white regions
    touching the border, `training.pixels.studio_garment`), closed and smoothed by a pixel."""
    from scipy import ndimage

    out = np.empty((len(images), 1, *images.shape[1:3]), np.float32)
    for i, img in enumerate(images.numpy()):
        fg = studio_garment(img)
        out[i, 0] = ndimage.uniform_filter(fg.astype(np.float32), 3)
    return torch.from_numpy(out)


def load_catalog(data: Path, rows: list[dict], size: int, label_space: Catalog | None = None,
                 masks: bool = True):
    """Decode and letterbox every product image once, into RAM (about 75 KB per image)."""
    images = np.empty((len(rows), size, size, 3), np.uint8)
    with Progress(len(rows), "  decoding catalog images") as bar:
        for i, row in enumerate(rows):
            with Image.open(data / "catalog" / row["image_link"]) as img:
                images[i] = letterbox(img, size)
            bar.advance()
    tensor = torch.from_numpy(images)
    types = [r["article_type"] for r in rows]
    values = {
        "fine": [f"{r['article_type']}|{r['base_colour']}" for r in rows],
        "type": types,
        "colour": [r["base_colour"] for r in rows],
        "gender": [r["gender"] for r in rows],
        # the evaluation's hit rule in one label: articleType and gender (unisex: no label)
        "kind": [f"{r['article_type']}|{r['gender']}" if r["gender"] != "unisex" else ""
                 for r in rows],
        "street": [COARSE_OF_TYPE.get(t, "") for t in types],
    }
    labels, classes = {}, {}
    for key, vals in values.items():
        if label_space is not None:  # reuse the training label space (monitoring slice)
            lookup = {n: i for i, n in enumerate(label_space.classes[key])}
            labels[key] = torch.tensor([lookup.get(v, -1) for v in vals], dtype=torch.long)
            classes[key] = label_space.classes[key]
        elif key == "street":
            lookup = {n: i for i, n in enumerate(STREET_CLASSES)}
            labels[key] = torch.tensor([lookup.get(v, -1) for v in vals], dtype=torch.long)
            classes[key] = STREET_CLASSES
        else:
            skip = {"unisex"} if key == "gender" else {"NA", ""}
            labels[key], classes[key] = class_index(vals, skip)
    mask = garment_masks(tensor) if masks else torch.ones((len(rows), 1, 1, 1))
    return Catalog([r["id"] for r in rows], tensor, mask, labels, classes)


@dataclass
class Street:
    """Street-photo material from trainval only: background photos and labelled garment crops."""

    photos: list[str]  # the trainval file names it was cut from
    backgrounds: torch.Tensor  # [M,3,H,W] uint8 (none for held-out photos)
    crops: torch.Tensor  # [K,S,S,3] uint8, letterboxed garment boxes with a margin
    crop_labels: torch.Tensor  # [K] street class index


def margin_box(bbox: tuple[float, float, float, float],
               size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A labelled box (x, y, w, h) with 8% more on every side, inside the photo, in pixels."""
    x, y, w, h = bbox
    m = 0.08
    box = (max(0, x - m * w), max(0, y - m * h),
           min(size[0], x + w * (1 + m)), min(size[1], y + h * (1 + m)))
    return tuple(round(v) for v in box)


def load_street(data: Path, size: int, limit: int | None,
                val_fraction: float = 0.0) -> tuple[Street, Street]:
    """Street trainval photos as backgrounds, and their garment boxes as extra training crops.

    A `val_fraction` of the photos is kept out of training (neither background nor crop):
    their garment boxes are the monitoring crops that tune how much the street class counts,
    and their backgrounds are never decoded.
    """
    street = data / "street"
    names = read_split(street, "trainval")
    test = set(read_split(street, "test"))
    assert not test & set(names), "street test images must never be trained on"
    if limit:
        names = names[: max(4, limit // 8)]
    annotations = read_annotations(street)
    parts = {False: ([], [], [], []), True: ([], [], [], [])}  # held out? -> photos, ...
    with Progress(len(names), "  reading street trainval photos") as bar:
        for name in names:
            kept_out = held_out(name, "embedder-street-val", val_fraction)
            photos, backgrounds, crops, labels = parts[kept_out]
            photos.append(name)
            with Image.open(annotations.path(name)) as img:
                img = img.convert("RGB")
                if not kept_out:
                    backgrounds.append(np.asarray(img.resize((208, 320), Image.BILINEAR)))
                for labelled in annotations.boxes_of(name):
                    if labelled.cls not in STREET_CLASSES:
                        continue
                    crops.append(letterbox(img.crop(margin_box(labelled.bbox, img.size)), size))
                    labels.append(STREET_CLASSES.index(labelled.cls))
            bar.advance()

    def stack(images: list, shape: tuple[int, int]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images) if images else np.empty((0, *shape, 3), np.uint8))

    def as_street(photos: list, backgrounds: list, crops: list, labels: list) -> Street:
        return Street(photos, stack(backgrounds, (320, 208)).permute(0, 3, 1, 2).contiguous(),
                      stack(crops, (size, size)), torch.tensor(labels, dtype=torch.long))

    return as_street(*parts[False]), as_street(*parts[True])


@dataclass
class TrainingData:
    """Everything training reads, decoded once: training products, monitoring slice, street."""

    cat: Catalog
    val: Catalog
    street: Street
    street_val: Street  # garment boxes of held-out street photos (tuning only)


def load_training_data(split: TrainingSplit) -> TrainingData:
    """Decode the split's products and street photos (minutes for the whole catalog)."""
    log(f"reading catalog index rows from {split.data / 'catalog'}")
    train_rows, val_rows = read_training_rows(split.data, split.val_fraction, split.limit)
    cat = load_catalog(split.data, train_rows, split.cache_size)
    val = load_catalog(split.data, val_rows, split.cache_size, label_space=cat, masks=False)
    log(f"catalog: {len(cat.ids)} training products, {len(val.ids)} monitoring products, "
        + ", ".join(f"{k} {len(v)} classes" for k, v in cat.classes.items()))
    street, street_val = load_street(split.data, split.cache_size, split.limit,
                                     split.street_val_fraction)
    log(f"street trainval: {len(street.backgrounds)} backgrounds, "
        f"{len(street.crops)} garment crops; {len(street_val.crops)} garment crops of "
        f"{len(street_val.photos)} held-out photos for monitoring")
    return TrainingData(cat, val, street, street_val)
