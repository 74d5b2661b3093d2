"""The street labels the detector trains on and is scored against.

One mapping serves both, so these pin it down: the companion's five categories, one topwear box
per photo (shirt and jacket merged), no hats or sunglasses, and test photos never in training.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.support.data import STREET, requires_data
from training.data.catalog import read_feed
from training.data.street import CATEGORIES, load_street, read_split
from training.detector.dataset import build_dataset, yolo_lines
from training.detector.paste import bag_cutouts

pytestmark = requires_data


def test_the_splits_are_disjoint_and_cover_the_data_set():
    trainval, test = set(read_split(STREET, "trainval")), set(read_split(STREET, "test"))
    assert len(trainval) == 771 and len(test) == 197
    assert not trainval & test


def test_an_unknown_split_is_refused():
    with pytest.raises(ValueError, match="unknown split"):
        read_split(STREET, "train")


def test_a_jacket_over_a_shirt_becomes_one_topwear_box_around_both():
    coco = json.loads((STREET / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_image: dict[int, dict[str, list]] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], {}).setdefault(names[ann["category_id"]], []).append(
            ann["bbox"])
    files = {i["id"]: i["file_name"].split("/")[-1] for i in coco["images"]}
    test_names = set(read_split(STREET, "test"))
    image_id = next(i for i, c in by_image.items()
                    if "shirt" in c and "jacket" in c and files[i] in test_names)
    image = next(im for im in load_street(STREET, "test") if im.name == files[image_id])
    tops = [g for g in image.garments if g.category == "topwear"]
    assert len(tops) == 1
    (sx, sy, sw, sh), (jx, jy, jw, jh) = by_image[image_id]["shirt"][0], by_image[image_id][
        "jacket"][0]
    assert tops[0].box == pytest.approx(
        (min(sx, jx), min(sy, jy), max(sx + sw, jx + jw), max(sy + sh, jy + jh)))


def test_only_the_five_categories_remain_and_every_photo_has_a_garment():
    images = load_street(STREET, "trainval")
    seen = {g.category for im in images for g in im.garments}
    assert seen == set(CATEGORIES)
    assert all(im.garments for im in images)
    assert all(im.person is not None for im in images)


def test_yolo_lines_are_normalised_centre_boxes_with_the_category_index():
    image = load_street(STREET, "test")[0]
    for line, garment in zip(yolo_lines(image), image.garments, strict=True):
        label, cx, cy, w, h = line.split()
        assert int(label) == CATEGORIES.index(garment.category)
        x1, y1, x2, y2 = garment.box
        assert float(cx) == pytest.approx((x1 + x2) / 2 / image.width, abs=1e-5)
        assert float(cy) == pytest.approx((y1 + y2) / 2 / image.height, abs=1e-5)
        assert 0 < float(w) <= 1 and 0 < float(h) <= 1


def test_the_training_copy_holds_trainval_photos_only_with_generated_labels(tmp_path):
    data_yaml = build_dataset(STREET.parent, tmp_path, None, 0.1, seed=0)
    root = data_yaml.parent
    train = sorted(p.name for p in (root / "images" / "train").iterdir())
    val = sorted(p.name for p in (root / "images" / "val").iterdir())
    assert len(train) + len(val) == 771 and len(val) == 77
    assert not set(train) & set(val)
    assert not (set(train) | set(val)) & set(read_split(STREET, "test"))
    assert (root / "images" / "train" / train[0]).resolve().parent == (STREET / "images").resolve()
    labels = (root / "labels" / "train" / train[0].replace(".jpg", ".txt")).read_text().split("\n")
    assert {int(line.split()[0]) for line in labels if line} <= set(range(len(CATEGORIES)))
    assert "names:\n  0: topwear\n  1: bottomwear\n  2: footwear\n  3: dress\n  4: bag" in (
        data_yaml.read_text())


def test_pasted_bags_come_from_catalog_bags_never_held_out():
    feed = read_feed(STREET.parent / "catalog")
    allowed = feed.ids_of("index") - {r["id"] for r in feed.monitoring_rows()}
    cutouts = bag_cutouts(STREET.parent / "catalog")
    assert len(cutouts) > 300
    assert {c.product_id for c in cutouts} <= allowed
    for cutout in cutouts:
        assert cutout.alpha.shape == cutout.pixels.shape[:2]
        # cropped to the bag: its outline touches every side of the cut-out
        bag = cutout.alpha > 0
        assert bag[0].any() and bag[-1].any() and bag[:, 0].any() and bag[:, -1].any()


def test_a_pasted_copy_adds_one_bag_label_and_changes_only_pixels_inside_it(tmp_path):
    data_yaml = build_dataset(STREET.parent, tmp_path, 40, 0.1, seed=0, paste_bags=1.0)
    root = data_yaml.parent
    pasted = sorted((root / "images" / "train").glob("pasted-*.jpg"))
    assert pasted and not list((root / "images" / "val").glob("pasted-*"))
    for copy in pasted[:5]:
        original = root / "images" / "train" / copy.name.removeprefix("pasted-")
        labels = (root / "labels" / "train" / f"{copy.stem}.txt").read_text().split()
        before = (root / "labels" / "train" / f"{original.stem}.txt").read_text().split()
        assert labels[: len(before)] == before and len(labels) == len(before) + 5
        label, cx, cy, w, h = labels[len(before):]
        assert int(label) == CATEGORIES.index("bag")
        old = np.asarray(Image.open(original).convert("RGB"), dtype=np.int16)
        new = np.asarray(Image.open(copy).convert("RGB"), dtype=np.int16)
        height, width = old.shape[:2]
        x1, x2 = (float(cx) - float(w) / 2) * width, (float(cx) + float(w) / 2) * width
        y1, y2 = (float(cy) - float(h) / 2) * height, (float(cy) + float(h) / 2) * height
        changed = np.abs(new - old).max(axis=2) > 40  # JPEG re-encoding moves the rest a little
        inside, near = np.zeros_like(changed), np.zeros_like(changed)
        inside[round(y1): round(y2), round(x1): round(x2)] = True
        near[max(round(y1) - 8, 0): round(y2) + 8, max(round(x1) - 8, 0): round(x2) + 8] = True
        assert changed[inside].mean() > 0.1 and changed[~near].mean() < 0.001
