"""Runs looks off the event loop: one inference thread, the pipeline built on first use."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from companion import paths
from companion.server.config import ServerConfig

log = logging.getLogger(__name__)
HOOK_TIMEOUT_S = 5.0  # a stuck results window must not keep the extension waiting


class LookEngine:
    """Owns the pipeline and the thread pool it runs in; handlers only await ``look``."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._pipeline = config.pipeline
        self._lock = threading.Lock()
        # One look at a time: the models already use every core, and memory stays predictable.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="look")
        self._hooks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="look-hook")
        self.runs = 0  # looks handed to the pipeline (tests check that refusals add none)

    async def look(self, data: bytes, source: str, request) -> dict:
        """The look's JSON (``look_to_json``); LookError from the pipeline passes through."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, data, source, request)

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
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._get_pipeline)
        except Exception as exc:
            log.error("The look pipeline is not ready: %s", exc)

    def _run(self, data: bytes, source: str, request) -> dict:
        from companion.pipeline.look_output import look_to_json

        pipeline = self._get_pipeline()
        self.runs += 1
        return look_to_json(pipeline.run(data, source=source, request=request))

    def _get_pipeline(self):
        with self._lock:
            if self._pipeline is None:
                from companion.catalog.index import CatalogIndex
                from companion.inference.store import ModelStore
                from companion.pipeline.look import LookPipeline

                index = CatalogIndex(self._config.index_dir or paths.default_index_dir())
                self._pipeline = LookPipeline(ModelStore(), index)
            return self._pipeline

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._hooks.shutdown(wait=False, cancel_futures=True)
