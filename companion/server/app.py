"""The application factory: state, middlewares and routes of the companion's HTTP API."""

from __future__ import annotations

from aiohttp import web

from companion.server import handlers
from companion.server.config import ServerConfig
from companion.server.engine import LookEngine
from companion.server.envelope import error_envelope
from companion.server.keys import CONFIG, DESK, ENGINE, PAIRINGS
from companion.server.pairing import PairingDesk, PairingStore
from companion.server.security import security


def create_app(config: ServerConfig) -> web.Application:
    """Errors are enveloped outermost, so refusals from ``security`` get the same shape."""
    app = web.Application(
        middlewares=[error_envelope, security],
        client_max_size=config.max_body_bytes,
    )
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
    app.on_cleanup.append(_close)
    return app


async def _close(app: web.Application) -> None:
    app[ENGINE].close()
    app[DESK].close()
