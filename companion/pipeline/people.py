"""Old import path, kept until its last callers (scripts/, training/, a few tests; listed in
notes/api_changes.md) move to the new one; then it goes.
New code: companion.inference.movenet.MoveNet
(predict on image.pixels)."""

from companion.inference.movenet import INPUT_SIDE, MoveNet

__all__ = ["find_people"]


def find_people(store, image, side=INPUT_SIDE):
    return MoveNet(store).predict(image.pixels, side)
