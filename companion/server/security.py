"""The checks every request passes before a handler runs: Host, Origin, and the paired token.

Threats, and the check that stops each:
- a web page using DNS rebinding to reach 127.0.0.1 under its own name → Host must be
  ``127.0.0.1:<port>`` or ``localhost:<port>``;
- a web page posting to the companion → it cannot send an Authorization header without a CORS
  preflight we never answer, and it cannot read any response (we send no CORS headers at all);
- a token copied to another extension or page → its Origin must be the one pinned at pairing;
- a spoofed Origin that would show the user something else in the pairing question (escape
  sequences, look-alike letters) → only an Origin of an extension's exact form may pair
  (``origins``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from companion.errors import ErrorCode, LookError
from companion.server.keys import PAIRINGS
from companion.server.origins import origin_problem

PUBLIC = {("GET", "/v1/ping")}
PAIRING = {("POST", "/v1/pair")}
TOKEN_PARAMS = {"token", "access_token", "auth", "key"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    check_host(request)
    if TOKEN_PARAMS & request.query.keys():
        raise LookError(ErrorCode.TOKEN_IN_URL,
                        "Tokens go in the Authorization header, never in a URL.",
                        400)
    route = (request.method, request.path)
    if route in PUBLIC:
        return await handler(request)
    origin = request.headers.get("Origin", "")
    if route in PAIRING:
        check_pairing_origin(origin)
        return await handler(request)
    pinned = request.app[PAIRINGS].origin_for(bearer_token(request))
    if pinned is None:
        raise LookError(ErrorCode.AUTH_INVALID,
                        "This browser is not paired with the companion (or was "
                        "unpaired). Pair again from the extension's options page.", 401)
    if origin != pinned:
        raise forbidden_origin()
    return await handler(request)


def check_host(request: web.Request) -> None:
    """Refuse any Host but our own loopback address and the port the request arrived on."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    port = sockname[1] if sockname else None
    if port is None or request.headers.get("Host") not in {f"127.0.0.1:{port}",
                                                           f"localhost:{port}"}:
        raise LookError(ErrorCode.HOST_FORBIDDEN,
                        "The companion only answers requests addressed to "
                        f"127.0.0.1:{port} or localhost:{port}.", 403)


def check_pairing_origin(origin: str) -> None:
    """Only an extension's Origin, in its exact form, may ask to pair (and be shown to the user)."""
    problem = origin_problem(origin)
    if problem == ErrorCode.ORIGIN_MALFORMED:
        raise LookError(problem, "This Origin is not of the exact form a browser extension's "
                        "has (chrome-extension://<32 letters a-p>, moz-extension://<uuid>): "
                        "pairing refused.", 403)
    if problem is not None:
        raise forbidden_origin()


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LookError(ErrorCode.AUTH_MISSING,
                        "Pair this browser with the companion first (extension "
                        "options → Pair).", 401)
    return token.strip()


def forbidden_origin() -> LookError:
    return LookError(ErrorCode.ORIGIN_FORBIDDEN,
                     "Only the paired Shop the Look extension may use the "
                     "companion.", 403)
