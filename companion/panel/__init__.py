"""The results panel: a pywebview window the companion owns (see ``window.Panel``).

``run_with_server`` exists only where a window can open (pywebview with its toolkit installed,
and on Linux a display): ``shop-the-look serve`` falls back to the browser-only mode otherwise.
"""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec


def panel_available() -> bool:
    """Whether a window can open here, checked without importing the GUI toolkit."""
    if find_spec("webview") is None:
        return False
    if sys.platform.startswith("linux"):
        has_display = any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY"))
        return find_spec("qtpy") is not None and find_spec("PyQt6") is not None and (
            has_display or os.environ.get("QT_QPA_PLATFORM") == "offscreen"
        )
    return True


if panel_available():
    from companion.panel.serve import run_with_server

    __all__ = ["panel_available", "run_with_server"]
