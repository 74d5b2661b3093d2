"""The ways a web page may serve one photo: a format, a quality and a scale.

Why here: the gender step is judged on them (training.evaluate.gender_consistency) and the face
model is trained on them (training.face), so both take the one definition from the data package
instead of a training module importing an evaluation command.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Variant:
    """One way of serving the photo: format, quality (None: lossless) and scale of each side."""

    format: str
    quality: int | None
    scale: float

    @property
    def name(self) -> str:
        quality = "" if self.quality is None else f" q{self.quality}"
        return f"{self.format}{quality} ×{self.scale}"

    def encode(self, image: Image.Image) -> bytes:
        if self.scale != 1.0:
            size = (round(image.width * self.scale), round(image.height * self.scale))
            image = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        options = {} if self.quality is None else {"quality": self.quality}
        image.save(buffer, self.format, **options)
        return buffer.getvalue()


# Every format at the ends of the quality (70–95) and scale (0.5–1.0) ranges issue 29 names, and
# their middles; ``FULL_GRID`` (gender_consistency --full) adds the rest of the grid.
VARIANTS = (
    Variant("PNG", None, 1.0), Variant("PNG", None, 0.75), Variant("PNG", None, 0.5),
    Variant("JPEG", 95, 1.0), Variant("JPEG", 70, 1.0), Variant("JPEG", 85, 0.75),
    Variant("JPEG", 95, 0.5), Variant("JPEG", 70, 0.5),
    Variant("WEBP", 95, 1.0), Variant("WEBP", 70, 1.0), Variant("WEBP", 85, 0.75),
    Variant("WEBP", 95, 0.5), Variant("WEBP", 70, 0.5),
)
FULL_GRID = tuple(
    Variant(fmt, quality, scale) for fmt in ("JPEG", "WEBP") for quality in (70, 80, 85, 90, 95)
    for scale in (1.0, 0.75, 0.5)
)
