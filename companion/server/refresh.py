"""A look pipeline that follows its catalogs: a running companion picks up a new index without
a restart.

``index build`` and ``index update`` publish a version by replacing the index folder's
``CURRENT`` pointer (companion/catalog/versions.py). Before each look, ``LivePipeline`` reads the
pointers (one small file per shop) and, when one changed, opens the new catalogs and builds a new
``LookPipeline`` over them, sharing the model store (the models stay loaded; only wrappers are
made). A look holds the pipeline it started with, so looks in flight finish on the old index,
which stays on disk as the previous version, and the next look uses the new one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from companion.catalog.catalogs import Catalogs, current_versions
from companion.errors import LookError
from companion.inference.store import ModelStore
from companion.pipeline.look import LookPipeline, LookRequest
from companion.types import Look

log = logging.getLogger(__name__)

PipelineFactory = Callable[[ModelStore, Catalogs], LookPipeline]


class LivePipeline:
    """Runs looks like ``LookPipeline``, on the catalogs' current versions.

    ``refreshes`` counts the swaps; ``checkout`` tells a caller which one a look runs on, so it
    can tell the first look on a new catalog.
    A new version that cannot be opened (another embedder, a broken folder) is logged and the
    old catalogs stay in use until the next version.
    """

    def __init__(self, store: ModelStore, index_dirs: Sequence[Path],
                 factory: PipelineFactory = LookPipeline) -> None:
        self._store = store
        self._dirs = list(index_dirs)
        self._factory = factory
        self._lock = threading.Lock()
        self._seen = current_versions(self._dirs)
        self._pipeline = factory(store, Catalogs.open(self._dirs))
        self.refreshes = 0

    @property
    def index(self) -> Catalogs:
        """The catalogs the next look searches (as they were at the last check)."""
        return self._pipeline.index

    def run(self, data: bytes, source: str = "", request: LookRequest | None = None) -> Look:
        return self.checkout()[0].run(data, source=source, request=request)

    def current(self) -> LookPipeline:
        """The pipeline the next look runs on (see ``checkout``)."""
        return self.checkout()[0]

    def checkout(self) -> tuple[LookPipeline, int]:
        """The pipeline over the current versions (rebuilt first when one has changed) and how
        many swaps came before it."""
        with self._lock:
            seen = current_versions(self._dirs)
            if seen != self._seen:
                self._seen = seen
                self._swap()
            return self._pipeline, self.refreshes

    def _swap(self) -> None:
        try:
            catalogs = Catalogs.open(self._dirs)
        except (LookError, OSError, ValueError) as exc:
            log.error("A new catalog version could not be opened; still using the previous "
                      "one: %s", exc)
            return
        try:
            pipeline = self._factory(self._store, catalogs)
        except LookError as exc:
            catalogs.close()
            log.error("The new catalog cannot be searched by this companion; still using the "
                      "previous one: %s", exc.message)
            return
        # The old pipeline's catalogs are not closed here: a look in flight may be searching
        # them. They close when the last look holding them lets go (garbage collection).
        self._pipeline = pipeline
        self.refreshes += 1
        log.info("Catalog refreshed: %s", ", ".join(
            f"{folder} at {version}" for folder, version in catalogs.versions()))
