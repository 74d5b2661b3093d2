"""Loading every model a look needs, and running one look, before the first real one.

A shopper's first click is then as quick as the next, and a missing or damaged model shows at
start (in the log and in ``doctor``), not halfway through a look. While it runs, ``/v1/ping``
answers ``"ready": false`` and the extension says the companion is starting.
"""

from __future__ import annotations

import io
import logging
import time

from companion.inference.model import InferenceModel

log = logging.getLogger(__name__)
PHOTO_SIZE = (320, 480)  # a small portrait: decode, people, no-person search, embed


def warm_up_pipeline(pipeline) -> float:
    """Load the models of ``pipeline`` (a ``LookPipeline``, or one that follows its catalogs
    and has ``current()``) and run one look on a blank photo; the seconds it took."""
    started = time.monotonic()
    current = getattr(pipeline, "current", None)
    looks = current() if callable(current) else pipeline
    for model in vars(looks).values():
        if isinstance(model, InferenceModel):
            model.load()
    pipeline.run(_blank_photo(), source="warm-up")
    seconds = time.monotonic() - started
    log.info("Models loaded and warmed up in %.1f s.", seconds)
    return seconds


def _blank_photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", PHOTO_SIZE, (128, 128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()
