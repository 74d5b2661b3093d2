"""``shop-the-look serve`` with the results window: the server in a worker thread, the window on
the main thread, each look the extension sends shown with its photo.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from companion import branding
from companion.errors import LookError

if TYPE_CHECKING:
    from companion.panel.window import Panel

def run_with_server(config, ready: Callable[[Panel, int], object] | None = None) -> int:
    """Serve ``config`` (a ``ServerConfig``) in a worker thread while the window runs here.

    Closing the window only hides it; Ctrl-C in the terminal stops the companion. Pairing is
    asked in the window unless the config says otherwise (tests). ``ready`` is called in the
    worker with the panel and the bound port once the server listens.
    """
    from companion.inference.store import ModelStore
    from companion.panel.controller import PanelController
    from companion.panel.window import Panel
    from companion.server.keys import PAIRINGS
    from companion.server.pipelines import brand_pipeline
    from companion.server.refresh import LivePipeline
    from companion.server.runner import ServerThread

    index_dir = ", ".join(str(folder) for folder in config.index_dirs())
    problem: LookError | None = None
    pipeline = None
    try:
        pipeline = config.pipeline or LivePipeline(ModelStore(), config.index_dirs(),
                                                   brand_pipeline)
        panel = Panel.for_pipeline(pipeline, quit_on_close=False, age_group=config.age_group)
    except LookError as exc:  # the server still answers (with this error); the window explains
        problem = exc
        panel = Panel(PanelController(), quit_on_close=False)

    changes: dict = {"pipeline": pipeline, "on_look": panel.show_look}
    if _asks_in_terminal(config):  # the window is where the user is: ask there
        changes["confirm"] = panel.confirm_pairing
    server = ServerThread(replace(config, **changes), warm_up=True)
    stopped = threading.Event()

    def work() -> None:
        port = server.start()
        print(f"{branding.current().name} companion on http://127.0.0.1:{port} (catalog: "
              f"{index_dir}).\n"
              f"Pairings: {config.pairings_path}. Results open in the companion window; "
              "press Ctrl-C here to stop.", flush=True)
        if problem is not None:
            print(f"error [{problem.code}]: {problem.message}", file=sys.stderr, flush=True)
            panel.show_error(problem.code, problem.message)
        elif not len(server.app[PAIRINGS]):  # first run: nothing paired, say how at once
            panel.show_pairing_step(port)
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
    from companion.server.confirm import ask_in_terminal

    return config.confirm is ask_in_terminal
