"""Loading every model a look needs, and what a first look would otherwise pay for once, before
the first real look.

A shopper's first click is then as quick as the next, and a missing or damaged model shows at
start (in the log and in ``doctor``), not halfway through a look. While it runs, ``/v1/ping``
answers ``"ready": false`` and the extension says the companion is starting.

The models load two at a time from the moment the pipeline is made (``LookPipeline`` starts
``ModelStore.preload``: where a core is free, two load in the time of one); here they are waited
for. The warm-up is no longer a whole look on a blank
photo: that look cost more than it saved (a blank photo has nobody in it, so it ran CenterNet,
the slowest model, which a look needs only for groups, and none of the face, body and garment
models). ONNX Runtime's first run of each model measured no slower than the next here, so
what a first look pays for once is Python's: Pillow's decoders, read in on the first photo,
and each catalog category's first search (its usearch graph and SQLite pages read from disk).
Both are done here. Measurements: docs/speed.md, "Start-up".
"""

from __future__ import annotations

import io
import logging
import time

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.store import return_freed_memory

log = logging.getLogger(__name__)
PHOTO_SIZE = (64, 96)  # decoded once, as a JPEG: the first photo reads Pillow's decoders in


def warm_up_pipeline(pipeline) -> float:
    """Load the models of ``pipeline`` (a ``LookPipeline``, or one that follows its catalogs
    and has ``current()``), decode a photo and search every category once; the seconds it
    took."""
    started = time.monotonic()
    current = getattr(pipeline, "current", None)
    looks = current() if callable(current) else pipeline
    models = [model for model in vars(looks).values() if isinstance(model, InferenceModel)]
    # Waits for the loads the pipeline started (and raises what a load raised).
    optimised = sum(getattr(model.load(), "optimized", False) for model in models)
    return_freed_memory()
    _decode_a_photo()
    _search_every_category(looks)
    seconds = time.monotonic() - started
    log.info("Models loaded and warmed up in %.1f s (%d of %d from graphs optimised at build "
             "time).", seconds, optimised, len(models))
    return seconds


def _decode_a_photo() -> None:
    from PIL import Image

    from companion.pipeline.decode import decode_image

    buffer = io.BytesIO()
    Image.new("RGB", PHOTO_SIZE, (128, 128, 128)).save(buffer, format="JPEG")
    decode_image(buffer.getvalue())


def _search_every_category(looks) -> None:
    """One search per category, as a look makes them (``LookPipeline.matches``)."""
    ndim = looks.index.manifest.ndim
    vector = np.full(ndim, ndim ** -0.5, np.float32)
    for category in looks.index.categories:
        looks.matches(category, vector, 10, None, "adult")
