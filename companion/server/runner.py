"""Starting and stopping the server: in the foreground (``serve``) or in a thread (the panel,
whose window needs the main thread, and tests)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import threading
from collections.abc import Callable

from aiohttp import web

from companion.errors import ErrorCode, LookError
from companion.server.app import create_app
from companion.server.config import HOST, ServerConfig
from companion.server.envelope import EnvelopeProtocol

BACKLOG = 128  # as aiohttp's own sites


async def start(config: ServerConfig, warm_up: bool = False) -> tuple[web.AppRunner, int]:
    """Bind 127.0.0.1 (never another interface) and return the runner and the bound port.

    The port is bound before the app starts, so a taken port fails before any warm-up begins.
    """
    sock = _bind(config.port)
    # No access log: the envelope logs each request, without its query string.
    runner = CompanionRunner(create_app(config, warm_up=warm_up), access_log=None)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()  # also after a failed setup: aiohttp then runs what did start
        sock.close()
        raise
    return runner, runner.addresses[0][1]


class CompanionRunner(web.AppRunner):
    """aiohttp's app runner, with ``EnvelopeProtocol`` serving each connection, so requests that
    never reach the app (unparseable ones) are answered in the error envelope too."""

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()  # starts the app and applies its handler settings
        return _EnvelopeServer(made.request_handler, request_factory=made.request_factory,
                               handler_cancellation=made.handler_cancellation,
                               loop=asyncio.get_running_loop(), **made._kwargs)


class _EnvelopeServer(web.Server):
    """aiohttp's low-level server, making an ``EnvelopeProtocol`` per connection."""

    def __call__(self) -> web.RequestHandler:
        return EnvelopeProtocol(self, loop=self._loop, **self._kwargs)


def _bind(port: int) -> socket.socket:
    try:
        return socket.create_server((HOST, port), backlog=BACKLOG)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise LookError(ErrorCode.PORT_IN_USE,
                            f"Port {port} is already in use: is another "
                            "companion running? Stop it, or pick another with --port (and set "
                            "the same port in the extension's options).", 503) from None
        raise


def serve_forever(config: ServerConfig, ready: Callable[[int], None] | None = None) -> None:
    """Serve until SIGTERM (returns) or Ctrl-C (KeyboardInterrupt reaches the caller)."""

    async def main() -> None:
        runner, port = await start(config, warm_up=True)
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        if ready is not None:
            ready(port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())


class ServerThread:
    """The server on its own event loop in a daemon thread: ``start()`` returns the bound port."""

    def __init__(self, config: ServerConfig, warm_up: bool = False) -> None:
        self.config = config
        self.port: int | None = None
        self.app: web.Application | None = None
        self._warm_up = warm_up
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="companion-server",
                                        daemon=True)

    def start(self, timeout_s: float = 30.0) -> int:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start(self.config, self._warm_up), self._loop)
        self._runner, self.port = future.result(timeout_s)
        self.app = self._runner.app
        return self.port

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)
        self._loop.close()
