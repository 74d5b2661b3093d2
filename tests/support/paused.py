"""A command in a process of its own, paused at a named step (the test-only ``PAUSE_ENV`` of
companion/catalog/versions.py) and killed there with SIGKILL: what a crash or ``kill -9`` at that
moment leaves behind, every time, with no cleanup of any kind."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from companion.catalog.versions import PAUSE_ENV


@contextmanager
def paused_at(command: list[str], step: str) -> Iterator[None]:
    """Run ``command`` until it pauses at ``step``; kill it when the block ends."""
    process = subprocess.Popen(command, env={**os.environ, PAUSE_ENV: step},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(240, process.kill)
    watchdog.start()
    try:
        paused = any(line.strip() == f"paused at {step}" for line in process.stderr)
        assert paused, f"{' '.join(command[2:5])} never reached {step!r}"
        yield
    finally:
        process.kill()
        process.wait()
        watchdog.cancel()
