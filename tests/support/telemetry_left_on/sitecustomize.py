"""A companion that leaves ONNX Runtime's telemetry on, for the privacy tests
(tests/e2e/test_privacy_os.py, tests/integration/test_privacy.py) to show that they catch one.

With this folder on PYTHONPATH, Python runs this file at start-up: onnxruntime is imported
here, before the companion can switch its telemetry off (as every build did before issue 27),
and its telemetry events are enabled. Nothing else changes."""

import os

os.environ.pop("ORT_DISABLE_TELEMETRY", None)

import onnxruntime

onnxruntime.enable_telemetry_events()
