"""``shop-the-look serve`` with the results window: the server in a worker thread, the window on
the main thread, each look the extension sends shown with its photo.

The server's ``on_look`` hook hands over only the look's JSON, so the photo's bytes reach the
panel through ``PhotoHandoff``, a thin wrapper of the pipeline the server runs: it keeps the last
few photos in memory (never on disk) until their look is published.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from companion import paths
from companion.errors import LookError

if TYPE_CHECKING:
    from companion.panel.window import Panel

PENDING = 4  # photos waiting for their look to be published; older ones are dropped


class PhotoHandoff:
    """Runs the real pipeline and remembers each successful look's photo until ``take``."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.index = pipeline.index
        self._pending: deque[tuple[tuple, bytes]] = deque(maxlen=PENDING)
        self._lock = threading.Lock()

    def run(self, data: bytes, source: str = "", request=None):
        look = self.pipeline.run(data, source=source, request=request)
        with self._lock:
            self._pending.append(((look.source, look.width, look.height), data))
        return look

    def take(self, payload: dict) -> bytes | None:
        """The photo of ``payload`` (a look's JSON), forgotten here once taken."""
        key = (payload.get("image"), payload.get("width"), payload.get("height"))
        with self._lock:
            for entry in self._pending:
                if entry[0] == key:
                    self._pending.remove(entry)
                    return entry[1]
        return None


def run_with_server(config, ready: Callable[[Panel, int], object] | None = None) -> int:
    """Serve ``config`` (a ``ServerConfig``) in a worker thread while the window runs here.

    Closing the window only hides it; Ctrl-C in the terminal stops the companion. Pairing is
    asked in the window unless the config says otherwise (tests). ``ready`` is called in the
    worker with the panel and the bound port once the server listens.
    """
    from companion.catalog.index import CatalogIndex
    from companion.inference.store import ModelStore
    from companion.panel.controller import PanelController
    from companion.panel.window import Panel
    from companion.pipeline.look import LookPipeline
    from companion.server.runner import ServerThread

    index_dir = config.index_dir or paths.default_index_dir()
    problem: LookError | None = None
    handoff = None
    try:
        pipeline = config.pipeline or LookPipeline(ModelStore(), CatalogIndex(index_dir))
        handoff = PhotoHandoff(pipeline)
        panel = Panel.for_pipeline(handoff.pipeline, quit_on_close=False)
    except LookError as exc:  # the server still answers (with this error); the window explains
        problem = exc
        panel = Panel(PanelController(), quit_on_close=False)

    def on_look(payload: dict) -> None:
        panel.show_look(payload, handoff.take(payload) if handoff else None)

    changes: dict = {"pipeline": handoff, "on_look": on_look}
    if _asks_in_terminal(config):  # the window is where the user is: ask there
        changes["confirm"] = panel.confirm_pairing
    server = ServerThread(replace(config, **changes), warm_up=True)
    stopped = threading.Event()

    def work() -> None:
        port = server.start()
        print(f"Shop the Look companion on http://127.0.0.1:{port} (catalog: {index_dir}).\n"
              f"Pairings: {config.pairings_path}. Results open in the companion window; "
              "press Ctrl-C here to stop.", flush=True)
        if problem is not None:
            print(f"error [{problem.code}]: {problem.message}", file=sys.stderr, flush=True)
            panel.show_error(problem.code, problem.message)
        if ready is not None:
            ready(panel, port)
        stopped.wait()

    def stop() -> None:
        stopped.set()
        server.stop()

    panel.run_with_worker(work, stop=stop)
    print("Stopped.", flush=True)
    return 0


def _asks_in_terminal(config) -> bool:
    """Whether pairing would be asked in the terminal (``serve``'s choice and the default)."""
    from dataclasses import fields

    from companion.server.confirm import ask_in_terminal

    default = next(f.default for f in fields(config) if f.name == "confirm")
    return config.confirm in (ask_in_terminal, default)
