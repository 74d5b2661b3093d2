"""One error contract for every failure: ``{"error": {"code", "message"}}`` with its status.

Expected failures (LookError) say what to do next; anything else is logged with its stack trace
and answered with a plain message, so no internals ever reach the client.
"""

from __future__ import annotations

import json
import logging
import time
from functools import partial

from aiohttp import web

from companion.errors import ErrorCode, LookError
from companion.server.security import Handler

log = logging.getLogger("companion.server")
HTTP_CODES = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
}
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
dumps = partial(json.dumps, ensure_ascii=False)


def json_response(body: dict, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps, headers=HEADERS)


def error_response(status: int, code: ErrorCode, message: str) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status)


@web.middleware
async def error_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        response = await handler(request)
    except LookError as exc:
        response = error_response(exc.status, exc.code, exc.message)
    except web.HTTPRequestEntityTooLarge:
        response = error_response(413, ErrorCode.BODY_TOO_LARGE, "The request body is too large.")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(exc.status, HTTP_CODES.get(exc.status, ErrorCode.HTTP_ERROR),
                                  exc.reason)
    except Exception:
        log.exception("Unexpected failure in %s %s", request.method, request.path)
        response = error_response(500, ErrorCode.INTERNAL_ERROR,
                                  "The companion hit an unexpected problem; its log has details.")
    # No query string in the log: it may hold a page's address, which is the user's business.
    log.info("%s %s %s %.0f ms", request.method, request.path, response.status,
             (time.perf_counter() - started) * 1e3)
    return response
