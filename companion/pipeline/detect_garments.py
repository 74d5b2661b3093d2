"""Old import path, kept until its last callers (scripts/, training/, a few tests; listed in
notes/api_changes.md) move to the new one; then it goes.
New code: companion.inference.garment_detector
and companion.pipeline.garments."""

from companion.inference.garment_detector import GarmentDetector as _GarmentDetector
from companion.pipeline.garments import assign_to_people

__all__ = ["GarmentDetector", "assign_to_people"]


class GarmentDetector(_GarmentDetector):
    """The detector under its old name for the call: ``detect`` is ``predict``."""

    def detect(self, pixels, score_threshold=None):
        return self.predict(pixels, score_threshold)
