"""Old import path, kept until its last callers (scripts/, training/, a few tests; listed in
notes/api_changes.md) move to the new one; then it goes.
New code: companion.inference.body_gender
(BodyGender, prepare) and companion.pipeline.crops (body_crop, expand_box)."""

from companion.inference.body_gender import BodyGender, prepare
from companion.pipeline.crops import body_crop, expand_box

__all__ = ["BodyGender", "body_crop", "expand_box", "prepare"]
