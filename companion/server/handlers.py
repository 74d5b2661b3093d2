"""Route handlers: translate HTTP to a call of the core and back, nothing more."""

from __future__ import annotations

import re
from functools import partial
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from companion import branding
from companion.errors import ErrorCode, LookError
from companion.server.config import API_VERSION, APP_NAME
from companion.server.engine import Busy
from companion.server.envelope import error_response, json_response
from companion.server.keys import CONFIG, DESK, ENGINE, PAIRINGS
from companion.server.pairing import Answer, PairingLocked, PairingRequest
from companion.server.upload import client_gone, read_upload, upload_size

CODE = re.compile(r"\d{6}")
MAX_PAIR_BODY = 1024
RESULTS_HEADER = "Shop-The-Look-Results"
REFUSED = ("Pairing refused in the companion: the code typed there was not the one this page "
           "shows. Press Pair again and type the new code.")
REFUSALS = {Answer.UNANSWERED: "No code was typed in the companion in time: pairing refused. "
                               "Press Pair again when you are at the companion."}


def app_version() -> str:
    try:
        return version("shop-the-look")
    except PackageNotFoundError:  # a bundle built without the package's metadata
        return branding.current().version or "unknown"


async def ping(request: web.Request) -> web.Response:
    """Unauthenticated "is a companion here?": app name, API version, app version, and whether
    it answers looks now (``ready``: false while its models load at start)."""
    return json_response({"app": APP_NAME, "api": API_VERSION, "version": app_version(),
                          "ready": not request.app[ENGINE].loading})


async def session(request: web.Request) -> web.Response:
    """An authenticated ping: the options page's "test connection" (the token still works)."""
    return json_response({"app": APP_NAME, "api": API_VERSION, "paired": True,
                          "panel": request.app[CONFIG].on_look is not None})


async def pair(request: web.Request) -> web.Response:
    """Ask the user to type the code this extension shows; answer with a fresh token only if
    they do. The question is withdrawn when the extension stops waiting."""
    if request.content_length is None or request.content_length > MAX_PAIR_BODY:
        raise LookError(ErrorCode.BAD_PAIRING_CODE,
                        "Send {\"code\": \"<6 digits>\"} as a small JSON "
                        "body.", 400)
    try:
        body = await request.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise LookError(ErrorCode.BAD_PAIRING_CODE, "Send {\"code\": \"<6 digits>\"}: the code the "
                        "extension shows the user.", 400)
    origin = request.headers["Origin"]  # security checked it is an extension's, exactly
    question = PairingRequest(origin, code, already_paired=request.app[PAIRINGS].has(origin))
    try:
        answer = await request.app[DESK].ask(question, gone=partial(client_gone, request))
    except PairingLocked as locked:
        response = error_response(locked.status, locked.code, locked.message)
        response.headers["Retry-After"] = str(locked.retry_after_s)
        return response
    if answer is not Answer.APPROVED:
        raise LookError(ErrorCode.PAIRING_REFUSED, REFUSALS.get(answer, REFUSED), 403)
    token = request.app[PAIRINGS].add(origin)
    return json_response({"token": token, "origin": origin, "api": API_VERSION})


async def unpair(request: web.Request) -> web.Response:
    """Forget the caller's pairing (the options page's "Forget pairing")."""
    request.app[PAIRINGS].remove(request.headers["Origin"])  # the pinned one: security checked
    return json_response({"paired": False})


async def looks(request: web.Request) -> web.Response:
    """Look at one image: the same JSON as ``shop-the-look look --json`` prints. The look waits
    its turn in the engine's queue; when too many wait: 503 ``busy`` with ``Retry-After``."""
    max_bytes = request.app[CONFIG].max_body_bytes
    try:
        payload = await request.app[ENGINE].look(partial(read_upload, request, max_bytes),
                                                 upload_size(request, max_bytes),
                                                 partial(client_gone, request))
    except Busy as busy:
        response = error_response(busy.status, busy.code, busy.message)
        response.headers["Retry-After"] = str(busy.retry_after_s)
        return response
    response = json_response(payload)
    # Where the user sees the results; a header, so the body stays exactly the CLI's JSON.
    response.headers[RESULTS_HEADER] = "panel" if request.app[CONFIG].on_look else "none"
    return response
