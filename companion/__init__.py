"""Shop the Look companion: the local service that finds a photo's garments in a catalog."""

# onnxruntime must be loaded before usearch: the other order (usearch's numkong first) crashes
# the interpreter with a segmentation fault (onnxruntime 1.2x, usearch 2.26, numkong, Linux).
# It is loaded through inference.session, which switches its telemetry off before the import.
import companion.inference.session  # noqa: F401  isort: skip

__version__ = "0.1.0"
