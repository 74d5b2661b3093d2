"""Old import path, kept until its last callers (scripts/, training/, a few tests; listed in
notes/api_changes.md) move to the new one; then it goes.
New code: companion.pipeline.crops with a
companion.inference.blazeface.BlazeFace."""

from companion.inference.blazeface import BlazeFace
from companion.pipeline import crops
from companion.pipeline.crops import head_box

__all__ = ["face_box_with_margin", "face_crop", "head_box"]


def face_box_with_margin(store, pixels):
    return crops.face_box_with_margin(BlazeFace(store), pixels)


def face_crop(store, pixels, person):
    return crops.face_crop(BlazeFace(store), pixels, person)
