"""A small progress bar with rate and ETA, for long work in a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """``with Progress(total, "Embedding") as bar: bar.advance()``; quiet when not a TTY."""

    def __init__(self, total: int, label: str, unit: str = "images", stream: TextIO | None = None,
                 detail: Callable[[], str] | None = None):
        self.detail = detail  # more to say at the line's end (what other work is doing)
        self.total = max(total, 0)
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._interactive = self.stream.isatty()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self._draw(final=True)

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last_draw >= (0.1 if self._interactive else 5.0):
            self._draw()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate > 0 else 0.0
        fraction = self.done / self.total if self.total else 1.0
        filled = int(fraction * 24)
        bar = "█" * filled + "░" * (24 - filled)
        more = self.detail() if self.detail is not None else ""
        return (
            f"{self.label} {bar} {self.done}/{self.total} {self.unit} "
            f"{rate:.1f}/s, {_clock(elapsed)} elapsed, ETA {_clock(remaining)}"
            + (f"; {more}" if more else "")
        )

    def _draw(self, final: bool = False) -> None:
        self._last_draw = time.monotonic()
        end = "\n" if final or not self._interactive else ""
        prefix = "\r" if self._interactive else ""
        self.stream.write(prefix + self.line() + end)
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
