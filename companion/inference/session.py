"""The one place that creates ONNX Runtime sessions and picks the execution provider, and the
one place that imports ONNX Runtime first (``companion/__init__`` imports this module), with its
telemetry off."""

from __future__ import annotations

import os
from pathlib import Path

# ONNX Runtime (1.32 on Linux) starts its telemetry when the module is imported, before any
# session: a device id and an events database under ~/.cache/Microsoft/DeveloperTools/.onnxruntime
# and uploads to mobile.events.data.microsoft.com (a DNS look-up about 8 s after the start). Only
# this variable, set before the import, stops both; disable_telemetry_events() after the import
# stops neither (both seen with strace; tests/e2e/test_privacy_os.py holds it). Always "1": a
# user's ORT_DISABLE_TELEMETRY=0 must not turn it back on. Child processes inherit it.
TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"
os.environ[TELEMETRY_ENV] = "1"

import onnxruntime as ort  # noqa: E402  (after the variable, on purpose)

ort.disable_telemetry_events()  # the API's own switch too, for builds that read only that

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
