"""Old import path, kept until its last callers (scripts/, training/, a few tests; listed in
notes/api_changes.md) move to the new one; then it goes.
New code: companion.inference.faceres.FaceRes
(predict) and companion.inference.postprocess.to_gender."""

from companion.inference.faceres import OUTPUT, FaceRes

__all__ = ["OUTPUT", "classify_faces"]


def classify_faces(store, faces):
    return FaceRes(store).predict(faces)
