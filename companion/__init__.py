"""Shop the Look companion: the local service that finds a photo's garments in a catalog."""

# onnxruntime must be loaded before usearch: the other order (usearch's numkong first) crashes
# the interpreter with a segmentation fault (onnxruntime 1.2x, usearch 2.26, numkong, Linux).
import onnxruntime  # noqa: F401  isort: skip

__version__ = "0.1.0"
