"""``shop-the-look look IMAGE... --show``: look at the photos in a worker thread and show each
look in the window (the last one in front; ‹ › switches). Closing the window ends the command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from companion import paths
from companion.errors import ErrorCode, LookError


def show_looks(images: list[Path], index_dir: Path | None, request, as_json: bool = False) -> int:
    """Print each look as ``look`` does and show it in the panel; 1 when none could be shown."""
    from companion.panel import panel_available

    if not panel_available():
        raise LookError(ErrorCode.PANEL_UNAVAILABLE,
                        "The results window needs a display and the panel "
                        "extra: pip install 'shop-the-look[panel]'. Without --show, look prints "
                        "its results here.")
    from companion.catalog.index import CatalogIndex
    from companion.inference.store import ModelStore
    from companion.panel.controller import PanelController
    from companion.panel.window import Panel
    from companion.pipeline.look import LookPipeline
    from companion.pipeline.look_output import error_to_json, format_look, look_to_json

    try:
        pipeline = LookPipeline(ModelStore(), CatalogIndex(index_dir or paths.default_index_dir()))
        panel = Panel.for_pipeline(pipeline, top_k=request.top_k)
    except LookError as exc:  # say it in the window too: that is where the user is looking
        pipeline, problem = None, exc
        panel = Panel(PanelController())
    shown = 0

    def report(source: str, error: LookError) -> None:
        if as_json:
            print(json.dumps(error_to_json(source, error), ensure_ascii=False), flush=True)
        else:
            print(f"{source}: error [{error.code}]: {error.message}", file=sys.stderr, flush=True)

    def work() -> None:
        nonlocal shown
        if pipeline is None:
            report("", problem)
            panel.show_error(problem.code, problem.message)
            return
        last: LookError | None = None
        for path in images:
            try:
                data = path.read_bytes()
                look = pipeline.run(data, source=str(path), request=request)
            except OSError as exc:
                last = LookError(ErrorCode.IMAGE_UNREADABLE, f"Cannot read {path}: {exc.strerror}.")
                report(str(path), last)
                continue
            except LookError as exc:
                last = exc
                report(str(path), exc)
                continue
            payload = look_to_json(look)
            print(json.dumps(payload, ensure_ascii=False) if as_json else format_look(look),
                  flush=True)
            panel.show_look(payload, data)
            shown += 1
        if not shown and last is not None:
            panel.show_error(last.code, last.message)

    panel.run_with_worker(work)
    return 0 if shown else 1
