"""The detector's training data: a YOLO dataset of street trainval photos (symlinked) with
labels generated in the companion's five categories (training/data/street.py maps them).

A fixed share of trainval becomes the validation set; test.txt is never read. Optionally a share
of the training photos gets a copy with a catalog bag pasted beside the person
(training/detector/paste.py); the validation photos stay as they are.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from pathlib import Path

from PIL import Image

from training.data.street import CATEGORIES, GarmentBox, StreetImage, load_street
from training.detector.paste import bag_cutouts, paste_bag
from training.pixels import read_rgb


def yolo_lines(image: StreetImage) -> list[str]:
    """The image's garments as YOLO label lines (``class cx cy w h``, normalised)."""
    lines = []
    for g in image.garments:
        x1, y1, x2, y2 = g.box
        cx = (x1 + x2) / 2 / image.width
        cy = (y1 + y2) / 2 / image.height
        w = (x2 - x1) / image.width
        h = (y2 - y1) / image.height
        lines.append(f"{CATEGORIES.index(g.category)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def build_dataset(
    data: Path, work: Path, limit: int | None, val_fraction: float, seed: int,
    paste_bags: float = 0.0,
) -> Path:
    """Write ``work/dataset`` (symlinked photos, generated labels) and return its data.yaml;
    ``paste_bags``: the share of training photos that also get a copy with a catalog bag."""
    street = data / "street"
    images = load_street(street, "trainval")
    rng = random.Random(seed)
    order = list(range(len(images)))
    rng.shuffle(order)
    images = [images[i] for i in order]
    if limit:
        images = images[:limit]
    n_val = max(1, round(len(images) * val_fraction))
    splits = {"val": images[:n_val], "train": images[n_val:] or images[:n_val]}
    root = work / "dataset"
    if root.exists():
        shutil.rmtree(root)
    for split, members in splits.items():
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for img in members:
            (root / "images" / split / img.name).symlink_to(img.path.resolve())
            label = root / "labels" / split / (Path(img.name).stem + ".txt")
            label.write_text("\n".join(yolo_lines(img)) + "\n", encoding="utf-8")
    if paste_bags > 0:
        pasted = write_pasted_bags(data, root, splits["train"], paste_bags, rng)
        print(f"dataset: {pasted} training photos with a pasted catalog bag")
    yaml_path = root / "data.yaml"
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(CATEGORIES))
    yaml_path.write_text(
        f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n",
        encoding="utf-8",
    )
    print(f"dataset: {len(splits['train'])} train, {len(splits['val'])} val photos -> {root}")
    return yaml_path


def write_pasted_bags(data: Path, root: Path, photos: list[StreetImage], share: float,
                      rng: random.Random) -> int:
    """Add to ``root``'s train split a copy of ``share`` of ``photos`` (those with a person box)
    with a catalog bag pasted beside the person; return how many were written."""
    cutouts = bag_cutouts(data / "catalog")
    chosen = [p for p in photos if p.person is not None and rng.random() < share]
    written = 0
    for photo in chosen:
        pixels = read_rgb(photo.path)
        bags = [g.box for g in photo.garments if g.category == "bag"]
        result = paste_bag(pixels, photo.person, bags, rng.choice(cutouts), rng)
        if result is None:
            continue
        pixels, box = result
        name = f"pasted-{Path(photo.name).stem}"
        Image.fromarray(pixels).save(root / "images" / "train" / f"{name}.jpg", quality=90)
        copy = replace(photo, name=f"{name}.jpg", width=pixels.shape[1], height=pixels.shape[0],
                       garments=(*photo.garments, GarmentBox("bag", tuple(map(float, box)))))
        (root / "labels" / "train" / f"{name}.txt").write_text(
            "\n".join(yolo_lines(copy)) + "\n", encoding="utf-8")
        written += 1
    return written
