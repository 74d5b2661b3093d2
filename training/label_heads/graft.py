"""The graft: one ONNX graph with the embedder (its output kept as `base_embedding`) and the
backbones' heads side by side on the same input, concatenated and L2-normalised; its inverse
(the embedder alone, or a branch back out of a graft), and the checks that it computes what it
was tuned with.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from training.embedder.augment import clean_batch
from training.label_heads.backbone import BACKBONE_OUTPUTS, HEADS, bottom_features, pooled, session
from training.label_heads.heads import Branch, HeadNet, Heads
from training.label_heads.inputs import GraftInput
from training.label_heads.parts import parts_of, resize_matrix
from training.log import log

BASE_OUTPUT = "base_embedding"


PREFIX = "cn/"


BASE_INPUT = PREFIX + "base_image"  # the embedder's input when the heads' input is larger


BASE_RESIZE = PREFIX + "base_resize"  # [embedder's size, input size]: the resize to it


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
                              producer_name="training.label_heads")
    model.ir_version = base.ir_version
    onnx.checker.check_model(model)
    return model


def check_graft(model: onnx.ModelProto, images: torch.Tensor, base: ort.InferenceSession,
                branches: list[Branch], weights: dict[str, float], scale: float,
                shape: GraftInput) -> None:
    """The grafted ONNX computes exactly the parts it was tuned with."""
    p = parts_of(images, base, branches, shape)
    want = np.concatenate([p.base * scale] + [weights[k] * p.heads[k] for k in HEADS
                                              if weights[k] > 0], axis=1)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    x = clean_batch(images, shape.size).numpy()
    got = session(model, shape.threads).run(["embedding"], {"image": x})[0]
    diff = float(np.abs(got - want).max())
    assert diff < 1e-4, f"grafted ONNX differs from its parts by {diff}"
    log(f"grafted ONNX matches its parts (max abs diff {diff:.1e})")


@torch.no_grad()
def check_trained_top(backbone: ort.InferenceSession, bottom: ort.InferenceSession, net: HeadNet,
                      images: torch.Tensor, shape: GraftInput) -> None:
    """The backbone written back to ONNX pools what the trained torch blocks pooled."""
    x = clean_batch(images, shape.size)
    maps, frozen = bottom_features(bottom, x)
    want = net.pooled(maps, frozen).numpy()
    diff = float(np.abs(pooled(backbone, x) - want).max() / np.abs(want).max())
    assert diff < 1e-2, f"the trained blocks written to ONNX differ from torch's by {diff}"
    log(f"trained blocks in ONNX match torch (max relative diff {diff:.1e})")
