"""``shop-the-look look IMAGE... --show``: look at the photos in a worker thread and show each
look in the window (the last one in front; ‹ › switches). Closing the window ends the command.
"""

from __future__ import annotations

from pathlib import Path

from companion import branding
from companion.errors import ErrorCode, LookError


def show_looks(images: list[Path], index_dirs: list[Path], request, as_json: bool = False) -> int:
    """Print each look as ``look`` does and show it in the panel; 1 when none could be shown."""
    from companion.panel import panel_available

    if not panel_available():
        raise LookError(ErrorCode.PANEL_UNAVAILABLE,
                        "The results window needs a display and the panel "
                        "extra: pip install 'shop-the-look[panel]'. Without --show, look prints "
                        "its results here.")
    from companion.catalog.catalogs import Catalogs
    from companion.inference.store import ModelStore
    from companion.panel.controller import PanelController
    from companion.panel.window import Panel
    from companion.pipeline.look import LookPipeline
    from companion.pipeline.look_output import print_failure, print_look, read_photo

    try:
        pipeline = LookPipeline(ModelStore(), Catalogs.open(index_dirs),
                                garment_finder=branding.current().garment_finder)
        panel = Panel.for_pipeline(pipeline, top_k=request.top_k, age_group=request.age_group)
    except LookError as exc:  # say it in the window too: that is where the user is looking
        pipeline, problem = None, exc
        panel = Panel(PanelController())
    shown = 0

    def work() -> None:
        nonlocal shown
        if pipeline is None:
            print_failure("", problem, as_json)
            panel.show_error(problem.code, problem.message)
            return
        last: LookError | None = None
        for path in images:
            try:
                data = read_photo(path)
                look = pipeline.run(data, source=str(path), request=request)
            except LookError as exc:
                last = exc
                print_failure(str(path), exc, as_json)
                continue
            panel.show_look(print_look(look, as_json), data)
            shown += 1
        if not shown and last is not None:
            panel.show_error(last.code, last.message)

    panel.run_with_worker(work)
    return 0 if shown else 1
