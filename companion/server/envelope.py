"""One error contract for every failure: ``{"error": {"code", "message"}}`` with its status.

Expected failures (LookError) say what to do next; anything else is logged with its stack trace
and answered with a plain message, so no internals ever reach the client.

Two kinds of answer never pass the app's middlewares, and are made here too:
- requests aiohttp cannot parse (bad request line, header or chunked body; a line too long):
  ``EnvelopeProtocol.handle_error`` answers them with a fixed message, never aiohttp's text,
  which echoes the offending bytes;
- the ``Server: Python/3.x aiohttp/3.y`` banner, which aiohttp adds to every answer as it is
  sent: ``drop_banner`` (the app's ``on_response_prepare``) and ``BannerlessResponse`` take it
  off again, so a scan of the port learns nothing of what runs behind it.
"""

from __future__ import annotations

import json
import logging
import time
from functools import partial
from itertools import islice

from aiohttp import StreamReader, hdrs, web
from aiohttp.web_protocol import _ErrInfo  # what the parser queues for a request it refused

from companion.errors import ErrorCode, LookError
from companion.server.security import Handler

log = logging.getLogger("companion.server")
HTTP_CODES = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
}
MALFORMED = "The request is not well-formed HTTP."
UNEXPECTED = "The companion hit an unexpected problem; its log has details."
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
dumps = partial(json.dumps, ensure_ascii=False)


def json_response(body: dict, status: int = 200,
                  response_class: type[web.Response] = web.Response) -> web.Response:
    return response_class(text=dumps(body), status=status, content_type="application/json",
                          headers=HEADERS)


def error_response(status: int, code: ErrorCode, message: str,
                   response_class: type[web.Response] = web.Response) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status, response_class)


@web.middleware
async def error_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        response = await handler(request)
    except LookError as exc:
        response = error_response(exc.status, exc.code, exc.message)
    except web.HTTPRequestEntityTooLarge:
        response = error_response(413, ErrorCode.BODY_TOO_LARGE, "The request body is too large.")
    except web.RequestPayloadError:  # a body aiohttp cannot decode, e.g. a broken chunk
        response = error_response(400, ErrorCode.MALFORMED_REQUEST, MALFORMED)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(exc.status, HTTP_CODES.get(exc.status, ErrorCode.HTTP_ERROR),
                                  exc.reason)
    except Exception:
        log.exception("Unexpected failure in %s %s", request.method, request.path)
        response = error_response(500, ErrorCode.INTERNAL_ERROR, UNEXPECTED)
    # No query string in the log: it may hold a page's address, which is the user's business.
    log.info("%s %s %s %.0f ms", request.method, request.path, response.status,
             (time.perf_counter() - started) * 1e3)
    return response


async def drop_banner(_request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: runs after aiohttp set its headers, before they are sent."""
    response.headers.popall(hdrs.SERVER, None)


class BannerlessResponse(web.Response):
    """A response without the Server banner, for answers made outside the app, where
    ``on_response_prepare`` does not run."""

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        self.headers.popall(hdrs.SERVER, None)


class EnvelopeProtocol(web.RequestHandler):
    """aiohttp's connection handler, answering what it cannot hand to the app in the envelope.

    ``handle_error`` is aiohttp's hook for a request that failed to parse (400) or a failure that
    escaped the app (500; 504 on a timeout): the answer says nothing of the request, and the log
    line names only the kind of failure, not the bytes that caused it.
    """

    _receiving: StreamReader | None = None  # the body of the request being received

    def data_received(self, data: bytes) -> None:
        """When a body turns out malformed (a broken chunk) part way, aiohttp (3.14's C parser)
        queues a 400 for later but leaves that body waiting for bytes that never come, so the
        handler reading it, and its client, would hang: fail the body instead, so the app
        answers in the envelope, and close the connection after that one answer."""
        queued = len(self._messages)
        super().data_received(data)
        for message, payload in islice(self._messages, queued, None):
            if not isinstance(message, _ErrInfo):
                self._receiving = payload
            elif self._receiving is not None and not self._receiving.is_eof():
                self._receiving.set_exception(web.RequestPayloadError("malformed body"))
                self._receiving.feed_eof()  # nothing left to drain after the answer
                self.close()  # the queued 400 is not sent after the app's answer

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:  # an answer was under way: aiohttp drops the line
            return super().handle_error(request, status, exc, message)
        if status < 500:
            log.info("Refused a malformed request (%s)", type(exc).__name__)
            code, text = ErrorCode.MALFORMED_REQUEST, MALFORMED
        else:
            log.error("Unexpected failure outside the app", exc_info=exc)
            code, text = ErrorCode.INTERNAL_ERROR, UNEXPECTED
        response = error_response(status, code, text, BannerlessResponse)
        response.force_close()
        return response
