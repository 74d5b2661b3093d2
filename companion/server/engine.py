"""Runs looks off the event loop, one at a time and in arrival order, in one inference thread.

The queue is bounded (``busy`` beyond ``max_waiting_looks``), uploads share a bounded room in
memory, a look whose client has left is dropped when its turn comes, and every look runs under a
deadline. The pipeline is built on first use, over the catalogs' current versions: it follows
new versions that ``index build`` or ``index update`` publish (companion/server/refresh.py), and the
first look on a new catalog says so (``"catalog_refreshed": true``), for the panel.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from companion.errors import ErrorCode, LookError
from companion.pipeline.deadline import Deadline
from companion.server.config import ServerConfig
from companion.server.upload import Upload, UploadRoom, left_before_look

log = logging.getLogger(__name__)
HOOK_TIMEOUT_S = 5.0  # a stuck results window must not keep the extension waiting
TYPICAL_LOOK_S = 1.0  # the guess for Retry-After until looks have been timed
LOOK_S_WEIGHT = 0.2  # how fast the running average of a look's duration follows new looks


@dataclass
class Busy(LookError):
    """The queue is full; ``retry_after_s`` is roughly when it will have room."""

    retry_after_s: int = 1


class LookEngine:
    """Owns the pipeline, the look queue and the threads looks run in; handlers only await
    ``look``."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._pipeline = config.pipeline
        self._lock = threading.Lock()
        # One look at a time: the models already use every core, and memory stays predictable.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="look")
        self._hooks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="look-hook")
        self._turn = asyncio.Lock()  # FIFO: looks start in the order their uploads were read
        self._room = UploadRoom(config.upload_room_bytes)
        self._look_s = TYPICAL_LOOK_S
        self.waiting = 0  # looks admitted but not started: reading, or waiting for room or turn
        self.queued = 0  # of those, the ones read and waiting for the worker
        self.runs = 0  # looks handed to the pipeline (tests check that refusals add none)
        self.skipped = 0  # looks dropped because their client had left before their turn
        self.loading = False  # models loading at start: /v1/ping answers "ready": false
        self._refreshes = 0  # catalog swaps already announced in a look's JSON

    async def look(self, read: Callable[[], Awaitable[Upload]], size: int,
                   gone: Callable[[], bool]) -> dict:
        """The look's JSON (``look_to_json``) of the upload ``read`` gives (``size``: the bytes
        it will hold); LookError from reading or the pipeline passes through.

        Raises ``Busy`` at once when ``max_waiting_looks`` looks wait already, and
        ``client_gone`` instead of running a look whose client has left (``gone()``).
        """
        if self.waiting >= self._config.max_waiting_looks:
            raise Busy(ErrorCode.BUSY, f"{self.waiting} looks are already waiting. Try again in "
                       "a few seconds.", 503, self.retry_after_s())
        self.waiting += 1
        started = False
        try:
            async with self._room.hold(size):
                upload = await read()
                self.queued += 1
                try:
                    await self._turn.acquire()
                finally:
                    self.queued -= 1
                self.waiting -= 1
                started = True
                try:
                    payload = await self._start(upload, gone)
                finally:
                    self._turn.release()
                await self.publish(payload, upload.data)
        finally:
            if not started:
                self.waiting -= 1
        return payload

    async def _start(self, upload: Upload, gone: Callable[[], bool]) -> dict:
        """Run the look in the worker, unless its client has left while it waited."""
        if gone():
            self.skipped += 1
            raise left_before_look()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, upload)

    def retry_after_s(self) -> int:
        """Seconds until the looks waiting now have likely run (at least 1)."""
        return max(1, math.ceil(self.waiting * self._look_s))

    async def publish(self, payload: dict, data: bytes) -> None:
        """Hand a finished look to ``on_look`` (the panel); its failures never reach the client."""
        hook = self._config.on_look
        if hook is None:
            return
        loop = asyncio.get_running_loop()
        try:
            handed = loop.run_in_executor(self._hooks, hook, payload, data)
            await asyncio.wait_for(handed, HOOK_TIMEOUT_S)
        except TimeoutError:
            log.warning("The on_look hook took over %s s; answering without waiting.",
                        HOOK_TIMEOUT_S)
        except Exception:
            log.exception("The on_look hook failed; the look itself succeeded.")

    async def warm_up(self) -> None:
        """Load the catalog and models now, so the first look is fast and problems show early."""
        from companion.server.warmup import warm_up_pipeline

        self.loading = True
        loop = asyncio.get_running_loop()
        try:
            pipeline = await loop.run_in_executor(self._executor, self._get_pipeline)
            await loop.run_in_executor(self._executor, warm_up_pipeline, pipeline)
        except Exception as exc:
            log.error("The look pipeline is not ready: %s", exc)
        finally:
            self.loading = False

    def _run(self, upload: Upload) -> dict:
        from companion.pipeline.look_output import look_to_json

        pipeline, refreshes = self._checkout()
        self.runs += 1
        # The deadline starts with the look itself: waiting in the queue is not its cost.
        request = replace(upload.request, deadline=Deadline.after(self._config.look_timeout_s),
                          age_group=upload.age_group or self._config.age_group)
        started = time.monotonic()
        try:
            payload = look_to_json(pipeline.run(upload.data, source=upload.source,
                                                request=request))
        finally:
            self._look_s += LOOK_S_WEIGHT * (time.monotonic() - started - self._look_s)
        refreshed, self._refreshes = refreshes != self._refreshes, refreshes
        return {**payload, "catalog_refreshed": True} if refreshed else payload

    def _checkout(self):
        """The pipeline this look runs on, chosen now (a ``LivePipeline`` follows new catalog
        versions; a fixed pipeline stays), and how many catalog swaps came before it."""
        pipeline = self._get_pipeline()
        checkout = getattr(pipeline, "checkout", None)
        return checkout() if checkout is not None else (pipeline, 0)

    def _get_pipeline(self):
        with self._lock:
            if self._pipeline is None:
                from companion.inference.store import ModelStore
                from companion.server.pipelines import brand_pipeline
                from companion.server.refresh import LivePipeline

                self._pipeline = LivePipeline(ModelStore(), self._config.index_dirs(),
                                              brand_pipeline)
                self._refreshes = self._pipeline.refreshes
            return self._pipeline

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._hooks.shutdown(wait=False, cancel_futures=True)
