"""How long a look may take: checked between the pipeline's steps and while an image decodes,
so one costly photo cannot hold the only look worker."""

from __future__ import annotations

import time
from dataclasses import dataclass

from companion.errors import ErrorCode, LookError

LOOK_TIMEOUT_STATUS = 503  # the companion is the origin server: 504 would blame a proxy


@dataclass(frozen=True)
class Deadline:
    """A moment on ``time.monotonic()``'s clock after which the look gives up."""

    at: float
    seconds: float  # the budget it was given, for the message

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds, seconds)

    def check(self, step: str) -> None:
        """Raise ``look_timeout`` once the deadline has passed (``step``: what was next)."""
        if time.monotonic() > self.at:
            raise LookError(
                ErrorCode.LOOK_TIMEOUT,
                f"The look took longer than {self.seconds:g} s and was stopped (at {step}). "
                "Try a smaller or simpler copy of the image.",
                LOOK_TIMEOUT_STATUS,
            )
