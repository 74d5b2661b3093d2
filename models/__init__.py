"""ONNX models shipped inside the companion (mapped to ``companion.models``)."""
