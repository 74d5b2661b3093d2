"""A CDN on loopback for catalog builds: product photos with ETag and Last-Modified (answering
conditional requests with 304), the bad answers real CDNs give, and a log of every request.

    with ImageServer(CATALOG / "images") as cdn:
        cdn.url("1530.jpg")                  # the photo, 304 when unchanged
        cdn.url("1530.jpg", "status/404")    # 404 (also 500, 503, …: status/<code>)
        cdn.url("1530.jpg", "slow")          # headers at once, the body after ``slow_s``
        cdn.url("1530.jpg", "flaky/2")       # 503 (Retry-After: 0) twice, then the photo
        cdn.url("1530.jpg", "truncated")     # half the bytes Content-Length promises, then closed
        cdn.url("1530.jpg", "huge")          # ``huge_bytes`` of JPEG-looking data, with a length
        cdn.url("1530.jpg", "huge-chunked")  # the same without Content-Length
        cdn.url("1530.jpg", "html")          # 200 with an HTML error page
        cdn.replace("1530.jpg", data)        # the photo changes (new ETag and Last-Modified)
        cdn.answer_with("1530.jpg", 503)     # /img/1530.jpg answers 503 from now on
        cdn.downloads()                      # requests answered with a photo's bytes

Names are those of files in the folder; every route is under /<kind>/<name>. Runs an aiohttp
server in a thread of its own, so tests stay synchronous.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from aiohttp import web

HTML_PAGE = b"<!doctype html><html><body><h1>Sorry, this page is missing</h1></body></html>"


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it."""

    method: str
    path: str
    host: str
    status: int  # 499: the client left before the answer was complete
    conditional: bool  # it carried If-None-Match or If-Modified-Since
    at: float  # time.monotonic() when it arrived


class ImageServer:
    def __init__(self, folder: Path, slow_s: float = 3.0, huge_bytes: int = 3 * 1024 * 1024,
                 delay_s: float = 0.0) -> None:
        self.folder = folder
        self.slow_s = slow_s
        self.huge_bytes = huge_bytes
        self.delay_s = delay_s  # before every answer: to watch concurrency
        self.log: list[Logged] = []
        self.in_flight: dict[str, int] = {}  # Host header → requests being answered
        self.most_in_flight: dict[str, int] = {}  # Host header → the most at one time
        self._replaced: dict[str, tuple[bytes, float]] = {}
        self._flaky: dict[str, int] = {}
        self._answers: dict[str, int] = {}
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    # The test's side
    def __enter__(self) -> ImageServer:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the image server did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    def url(self, name: str, kind: str = "img", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{kind}/{name}"

    def replace(self, name: str, data: bytes) -> None:
        with self._lock:
            self._replaced[name] = (data, time.time() + 1)  # a later second than the file's

    def answer_with(self, name: str, status: int) -> None:
        with self._lock:
            self._answers[name] = status

    def downloads(self) -> list[Logged]:
        """Requests answered with a whole photo (200 from /img/)."""
        with self._lock:
            return [e for e in self.log if e.status == 200 and e.path.startswith("/img/")]

    def requests_for(self, path: str) -> list[Logged]:
        """The requests for ``path`` (a URL's path, /kind/name), in the order they arrived."""
        with self._lock:
            return sorted((e for e in self.log if e.path == path), key=lambda e: e.at)

    # The server's side
    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/img/{name}", self._image)
        app.router.add_get("/status/{code}/{name}", self._status)
        app.router.add_get("/slow/{name}", self._slow)
        app.router.add_get("/flaky/{fails}/{name}", self._flaky_image)
        app.router.add_get("/truncated/{name}", self._truncated)
        app.router.add_get("/huge/{name}", self._huge)
        app.router.add_get("/huge-chunked/{name}", self._huge)
        app.router.add_get("/html/{name}", self._html)
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0,
                               access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._started.set()
        await self._stopping.wait()
        await runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler) -> web.StreamResponse:
        arrived, host = time.monotonic(), request.host
        with self._lock:
            self.in_flight[host] = self.in_flight.get(host, 0) + 1
            self.most_in_flight[host] = max(self.most_in_flight.get(host, 0),
                                            self.in_flight[host])
        status = 500
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499
            raise
        finally:
            conditional = "If-None-Match" in request.headers or \
                "If-Modified-Since" in request.headers
            with self._lock:
                self.in_flight[host] -= 1
                self.log.append(Logged(request.method, request.path_qs, host, status,
                                       conditional, arrived))

    def _photo(self, name: str) -> tuple[bytes, float]:
        with self._lock:
            if name in self._replaced:
                return self._replaced[name]
        path = self.folder / name
        if "/" in name or not path.is_file():
            raise web.HTTPNotFound()
        return path.read_bytes(), path.stat().st_mtime

    async def _image(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            status = self._answers.get(request.match_info["name"])
        if status is not None:
            return web.Response(status=status, body=HTML_PAGE, content_type="text/html")
        data, modified = self._photo(request.match_info["name"])
        etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
        last_modified = formatdate(modified, usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=validators)
        if "If-None-Match" not in request.headers and request.if_modified_since is not None \
                and int(modified) <= request.if_modified_since.timestamp():
            return web.Response(status=304, headers=validators)
        return web.Response(body=data, content_type="image/jpeg", headers=validators)

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), body=HTML_PAGE,
                            content_type="text/html")

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        data, _ = self._photo(request.match_info["name"])
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        response.content_length = len(data)
        await response.prepare(request)
        await response.write(data[:100])
        await asyncio.sleep(self.slow_s)
        await response.write(data[100:])
        return response

    async def _flaky_image(self, request: web.Request) -> web.StreamResponse:
        fails = int(request.match_info["fails"])
        with self._lock:
            seen = self._flaky[request.path] = self._flaky.get(request.path, 0) + 1
        if seen <= fails:
            return web.Response(status=503, headers={"Retry-After": "0"}, body=HTML_PAGE,
                                content_type="text/html")
        data, _ = self._photo(request.match_info["name"])
        return web.Response(body=data, content_type="image/jpeg")

    async def _truncated(self, request: web.Request) -> web.StreamResponse:
        data, _ = self._photo(request.match_info["name"])
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        response.content_length = len(data)
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        request.transport.close()  # the connection drops part way
        return response

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        data, _ = self._photo(request.match_info["name"])
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        if not request.path.startswith("/huge-chunked/"):
            response.content_length = self.huge_bytes
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        block = (data * (65536 // len(data) + 1))[:65536]
        for _ in range(self.huge_bytes // len(block)):
            await response.write(block)
        await response.write(block[: self.huge_bytes % len(block)])
        return response

    async def _html(self, request: web.Request) -> web.Response:
        return web.Response(body=HTML_PAGE, content_type="text/html")


def main() -> None:
    """``python -m tests.support.image_server FOLDER``: serve FOLDER in a process of its own (for
    benchmarks: the build's process keeps its cores); prints the port, stops when stdin closes."""
    import sys

    with ImageServer(Path(sys.argv[1])) as server:
        print(server.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
