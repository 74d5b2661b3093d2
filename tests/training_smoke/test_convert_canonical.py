"""training.convert writes one graph the same way every run: tf2onnx numbers the names it makes
from a process-wide counter, orders constants as it meets them and records the temporary folder
it read from, and ``canonical`` takes all three out, so a conversion can be checked against the
shipped file by its sha256."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from training.convert.__main__ import canonical

SOURCE = "models/tiny.json"


def converted(counter: int, constants_reversed: bool, tmp: str) -> onnx.ModelProto:
    """A two-op graph named the way tf2onnx names things, its counter at ``counter``."""
    scale, shift = f"const_fold_opt__{counter}", f"const_fold_opt__{counter + 7}"
    nodes = [helper.make_node("Mul", ["x", scale], [f"Mul__{counter + 1}:0"],
                              name=f"Mul__{counter + 1}"),
             helper.make_node("Add", [f"Mul__{counter + 1}:0", shift], ["y"],
                              name=f"Add__{counter + 2}")]
    constants = [numpy_helper.from_array(np.full(3, 2.0, np.float32), scale),
                 numpy_helper.from_array(np.full(3, 0.5, np.float32), shift)]
    if constants_reversed:
        constants.reverse()
    graph = helper.make_graph(
        nodes, "tf2onnx",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [f"unk__{counter + 3}", 3])],
        initializer=constants, doc_string=f"converted from {tmp}/package/{SOURCE}")
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_two_runs_of_one_conversion_give_the_same_bytes():
    first = canonical(converted(1968, False, "/tmp/tmpytcdv1dz"), SOURCE)
    second = canonical(converted(13, True, "/tmp/tmpv6uaqw_l"), SOURCE)
    assert first.SerializeToString() == second.SerializeToString()
    assert first.graph.doc_string == f"converted from {SOURCE}"


def test_the_canonical_graph_computes_what_the_converted_one_does():
    raw = converted(2121, True, "/tmp/x")
    x = np.array([[1.0, -2.0, 3.0]], np.float32)

    def run(model: onnx.ModelProto) -> np.ndarray:
        onnx.checker.check_model(model)
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        return session.run(None, {"x": x})[0]

    before = run(raw)
    after = run(canonical(converted(2121, True, "/tmp/x"), SOURCE))
    np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(after, x * 2.0 + 0.5)
