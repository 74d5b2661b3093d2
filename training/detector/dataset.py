"""The detector's training data: a YOLO dataset of street trainval photos (symlinked) with
labels generated in the companion's five categories (training/data/street.py maps them).

A fixed share of trainval becomes the validation set; test.txt is never read.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from training.data.street import CATEGORIES, StreetImage, load_street


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
    data: Path, work: Path, limit: int | None, val_fraction: float, seed: int
) -> Path:
    """Write ``work/dataset`` (symlinked photos, generated labels) and return its data.yaml."""
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
    yaml_path = root / "data.yaml"
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(CATEGORIES))
    yaml_path.write_text(
        f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n",
        encoding="utf-8",
    )
    print(f"dataset: {len(splits['train'])} train, {len(splits['val'])} val photos -> {root}")
    return yaml_path
