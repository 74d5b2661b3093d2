"""The application factory: state, middlewares and routes of the companion's HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from companion.server import handlers
from companion.server.config import ServerConfig
from companion.server.engine import LookEngine
from companion.server.envelope import drop_banner, error_envelope
from companion.server.keys import CONFIG, DESK, ENGINE, PAIRINGS, WARM_UP
from companion.server.pairing import PairingDesk, PairingStore
from companion.server.security import security


def create_app(config: ServerConfig, warm_up: bool = False) -> web.Application:
    """Errors are enveloped outermost, so refusals from ``security`` get the same shape.

    ``warm_up`` loads the pipeline in the background from startup on (see ``_warm_up``).
    """
    app = web.Application(
        middlewares=[error_envelope, security],
        client_max_size=config.max_body_bytes,
    )
    app.on_response_prepare.append(drop_banner)
    app[CONFIG] = config
    app[PAIRINGS] = PairingStore(config.pairings_path)
    app[DESK] = PairingDesk(config.confirm, config.pairing_timeout_s)
    app[ENGINE] = LookEngine(config)
    app.router.add_get("/v1/ping", handlers.ping, allow_head=False)
    # Authenticated routes are POSTs: Chrome sends no Origin on an extension's GET requests,
    # and the pinned Origin is checked on every authenticated call.
    app.router.add_post("/v1/session", handlers.session)
    app.router.add_post("/v1/pair", handlers.pair)
    app.router.add_post("/v1/unpair", handlers.unpair)
    app.router.add_post("/v1/looks", handlers.looks)
    if warm_up:
        app.cleanup_ctx.append(_warm_up)
    app.on_shutdown.append(_withdraw_pairing)  # before aiohttp waits for handlers to finish
    app.on_cleanup.append(_close)
    return app


async def _warm_up(app: web.Application) -> AsyncIterator[None]:
    """The warm-up belongs to the app: started on startup, cancelled and awaited on cleanup, so
    stopping the server never leaves a task pending on its loop."""
    app[WARM_UP] = asyncio.create_task(app[ENGINE].warm_up(), name="companion-warm-up")
    yield
    app[WARM_UP].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app[WARM_UP]


async def _withdraw_pairing(app: web.Application) -> None:
    """A pairing question still up comes down, so its request ends and the server can stop."""
    app[DESK].close()


async def _close(app: web.Application) -> None:
    app[ENGINE].close()
    app[DESK].close()
