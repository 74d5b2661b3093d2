"""How images go through a graft: one small record shared by training and averaging."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GraftInput:
    """The heads' input size (the graft's), the embedder's own size inside it, and the batches
    and threads that images are run with."""

    size: int
    base_size: int
    batch: int
    threads: int
