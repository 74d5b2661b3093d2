"""Old import path, kept until its last callers (scripts/, training/, a few tests; listed in
notes/api_changes.md) move to the new one; then it goes.
New code: companion.inference.embedder."""

from companion.inference.embedder import DEFAULT_EMBEDDER
from companion.inference.embedder import Embedder as _Embedder

__all__ = ["DEFAULT_EMBEDDER", "Embedder"]


class Embedder(_Embedder):
    """The embedder under its old name for the call: ``embed`` is ``predict``."""

    def embed(self, crops):
        return self.predict(crops)
