"""``shop-the-look serve``: run the companion the browser extension talks to."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from companion import branding, paths
from companion.commands.device import add_device_option
from companion.server.config import DEFAULT_PORT, PAIRINGS_FILE, ServerConfig

DESCRIPTION = """\
Run the companion for the Shop the Look browser extension: right-click an image in the
browser, choose "Shop this look", and the companion finds its garments in the catalog.

It listens on 127.0.0.1 only, so nothing on your network can reach it, and answers only the
extension you paired. Pairing: open the extension's options, press "Pair"; the options page
shows a six-digit code, and the companion asks you to type it (in its window, or here when it
has none). Only that code pairs; a few failed attempts lock pairing for a while. The
browser keeps a token; the companion keeps only its hash, in the pairings file shown below.
"Forget pairing" in the options unpairs one browser; deleting the pairings file unpairs them all.
"""

EPILOG = f"""\
examples:
  shop-the-look serve                     the demo catalog, results in the companion window
  shop-the-look serve --no-panel          results only in the browser
  shop-the-look serve --port 18000        if {DEFAULT_PORT} is taken; set the same port in the
                                          extension's options
  shop-the-look serve --index index/mine  another catalog (built with `index build`)
  shop-the-look serve --index a --index b  two shops at once (or --index FOLDER of indexes)

environment:
  {paths.CONFIG_ENV}   folder for the pairings file (default: {paths.config_dir()})
  {paths.INDEX_ENV}    default catalog index folder
"""


def register(commands) -> None:
    serve = commands.add_parser(
        "serve", help="run the companion for the browser extension (HTTP on 127.0.0.1)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    port = branding.current().port  # DEFAULT_PORT, unless a branded build says otherwise
    serve.add_argument("--port", type=int, default=port, metavar="N",
                       help=f"port on 127.0.0.1 (default: {port}, the extension's default)")
    serve.add_argument("--index", type=Path, action="append", default=None, metavar="DIR",
                       help="catalog index folder, or a folder of several; repeat it for several "
                       "shops (default: $SHOP_THE_LOOK_INDEX or the demo index). A new version "
                       "(`index build` or `index update`) is used from the next look on")
    serve.add_argument("--age-group", choices=["adult", "kids", "all"], default="adult",
                       help="whose products looks show unless the extension or the window asks "
                       "otherwise: adults' (default), kids' or everyone's")
    serve.add_argument("--no-panel", action="store_true",
                       help="do not open the results window; the extension still gets answers")
    add_device_option(serve)
    serve.add_argument("--auto-approve-pairing", action="store_true",
                       help="FOR AUTOMATED TESTS ONLY: pair every extension that asks, without "
                       "asking you. Never use it in daily life: any extension could pair.")
    serve.set_defaults(handler=run)


def run(args) -> int:
    from companion.server.confirm import approve_for_tests, ask_in_terminal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    if not 0 < args.port < 65536:
        print("error: --port must be between 1 and 65535", file=sys.stderr)
        return 2
    config = ServerConfig(
        port=args.port,
        index_dir=args.index[0] if args.index else None,
        more_index_dirs=tuple(args.index[1:]) if args.index else (),
        age_group=args.age_group,
        pairings_path=paths.config_dir() / PAIRINGS_FILE,
        confirm=approve_for_tests if args.auto_approve_pairing else ask_in_terminal,
    )
    if args.auto_approve_pairing:
        print("WARNING: --auto-approve-pairing pairs any extension without asking (tests only).",
              file=sys.stderr)
    panel = None if args.no_panel else _panel_runner()
    if panel is not None:
        return panel(config)
    return _serve_without_panel(config, announce_panel=not args.no_panel)


def _panel_runner():
    """The results window's entry point, ``companion.panel.run_with_server(config) -> int``.

    It sets ``on_look`` on the config, starts ``runner.ServerThread`` and runs the window on the
    main thread. None while the panel (or pywebview) is not installed.
    """
    try:
        import companion.panel as panel
    except ImportError:
        return None
    return getattr(panel, "run_with_server", None)


def _serve_without_panel(config: ServerConfig, announce_panel: bool) -> int:
    from companion.server.runner import serve_forever

    def ready(port: int) -> None:
        index = ", ".join(str(folder) for folder in config.index_dirs())
        print(f"{branding.current().name} companion on http://127.0.0.1:{port} (catalog: "
              f"{index}).\n"
              f"Pairings: {config.pairings_path}. Press Ctrl-C to stop.", flush=True)
        if announce_panel:
            print("The results window is not available here; results show in the browser only.",
                  flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(config, ready)
    print("Stopped.", flush=True)
    return 0
