"""The one place that creates ONNX Runtime sessions and picks the execution provider."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort

# In order of preference; the first one this onnxruntime build offers wins, CPU always works.
PREFERRED_PROVIDERS = (
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
)
PROVIDER_ENV = "SHOP_THE_LOOK_PROVIDER"  # e.g. "cpu" to force the CPU


def pick_providers(available: list[str] | None = None) -> list[str]:
    """The providers to use, best first, honouring $SHOP_THE_LOOK_PROVIDER=cpu."""
    available = ort.get_available_providers() if available is None else available
    if os.environ.get(PROVIDER_ENV, "").lower() == "cpu":
        return ["CPUExecutionProvider"]
    chosen = [p for p in PREFERRED_PROVIDERS if p in available]
    return chosen or ["CPUExecutionProvider"]


def create_session(model_path: Path, threads: int | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # keep ORT's warnings out of the user's terminal
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model_path), options, providers=pick_providers())
