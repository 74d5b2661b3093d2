"""One model to int8: ONNX Runtime static quantization (QDQ), and how close and how fast it is.

Settings for an x86 CPU without VNNI (AVX2 only, like this project's 2-core machine): unsigned
8-bit activations, signed 8-bit per-channel weights with ``reduce_range`` (7-bit weights: AVX2's
u8×s8 multiply-add saturates 16-bit sums with full-range weights, which costs accuracy that
VNNI machines would not lose). Calibration: the min/max (or a percentile, or entropy) of each
tensor over real feeds.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

# Only the heavy ops: what follows them (decoding heat maps, sigmoids, arg-max) stays float,
# where int8 rounding moved keypoints and scores far more than it saved time.
QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")
CALIBRATIONS = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                "entropy": CalibrationMethod.Entropy}


class _Reader(CalibrationDataReader):
    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


@dataclass(frozen=True)
class Comparison:
    """The int8 file against the float one on held-out feeds, timed in turn in one process."""

    float_ms: float
    int8_ms: float
    max_abs_diff: float  # the largest difference of any float output, over the feeds
    mean_abs_diff: float

    @property
    def ratio(self) -> float:
        return self.int8_ms / self.float_ms


def float_nodes(model: Path, pattern: str) -> tuple[str, ...]:
    """The names of ``model``'s nodes that ``pattern`` (a regex) matches: they stay float."""
    if not pattern:
        return ()
    graph = onnx.load(str(model), load_external_data=False).graph
    return tuple(node.name for node in graph.node if re.search(pattern, node.name))


def quantize(source: Path, target: Path, calibration: list[dict[str, np.ndarray]],
             method: str = "minmax", exclude: tuple[str, ...] = ()) -> None:
    """Write the int8 version of ``source`` to ``target``, calibrated on ``calibration``."""
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Shapes and constant folding first, so that every Conv and MatMul gets quantized.
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(target), _Reader(calibration), quant_format=QuantFormat.QDQ,
            per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8, calibrate_method=CALIBRATIONS[method],
            nodes_to_exclude=list(exclude), op_types_to_quantize=list(QUANTIZED_OPS))


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def compare(float_path: Path, int8_path: Path, feeds: list[dict[str, np.ndarray]],
            rounds: int = 3) -> Comparison:
    """Outputs and speed of the two files on ``feeds`` (median ms per call, in turn)."""
    reference, quantized = session(float_path), session(int8_path)
    diffs = []
    for feed in feeds:
        for want, got in zip(reference.run(None, feed), quantized.run(None, feed), strict=True):
            if want.dtype.kind == "f":
                diffs.append(np.abs(want.astype(np.float64) - got).ravel())
    times: dict[str, list[float]] = {"float": [], "int8": []}
    for _ in range(rounds):
        for feed in feeds:
            for name, model in (("float", reference), ("int8", quantized)):
                started = time.perf_counter()
                model.run(None, feed)
                times[name].append((time.perf_counter() - started) * 1e3)
    every = np.concatenate(diffs) if diffs else np.zeros(1)
    return Comparison(statistics.median(times["float"]), statistics.median(times["int8"]),
                      float(every.max()), float(every.mean()))
