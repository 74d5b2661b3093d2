"""Loads each model once, verified against its manifest, and hands out sessions.

Several models load at once (``preload``, or threads asking for different models): making a
session is mostly ONNX Runtime's C++ (reading and optimising the graph), which releases the
GIL, so where a core is free two models load in about the time of one (docs/speed.md,
"Start-up"). One model is still loaded once, however many threads ask for it.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import onnxruntime as ort

from companion import paths
from companion.errors import ErrorCode, LookError
from companion.inference import optimized
from companion.inference.manifest import (
    ModelManifest,
    read_manifest,
    verify_file,
    verify_signature,
)
from companion.inference.session import Threads, create_session, only_cpu

log = logging.getLogger(__name__)
PRELOAD_THREADS = 2  # this machine's cores: more threads would only share them

# Told of every session run: the model's name, its feeds and the milliseconds it took
# (benchmarks/bench_look.py's per-model table).
RunObserver = Callable[[str, dict, float], None]


@dataclass(frozen=True)
class LoadedModel:
    manifest: ModelManifest
    session: ort.InferenceSession
    on_run: RunObserver | None = None
    load_ms: float = 0.0  # verifying the file and making the session (benchmarks/bench_startup)
    optimized: bool = False  # the session runs the offline-optimised graph (optimized.py)

    @cached_property
    def output_names(self) -> list[str]:
        """The graph's outputs, read once (every run asks for all of them)."""
        return [o.name for o in self.session.get_outputs()]

    def run(self, feeds: dict) -> dict:
        """Run the model and return its outputs by name."""
        names = self.output_names
        if self.on_run is None:
            return dict(zip(names, self.session.run(names, feeds), strict=True))
        started = time.perf_counter()
        outputs = self.session.run(names, feeds)
        self.on_run(self.manifest.name, feeds, (time.perf_counter() - started) * 1e3)
        return dict(zip(names, outputs, strict=True))


class ModelStore:
    """Lazy, thread-safe access to the models under one folder."""

    def __init__(self, root: Path | None = None, threads: int | Threads | None = None,
                 on_run: RunObserver | None = None) -> None:
        self.root = root or paths.models_dir()
        self.threads = threads
        self.on_run = on_run
        self.optimized_dir = optimized.folder_for(self.root)  # graphs optimised at build time
        self._loading: dict[str, Future[LoadedModel]] = {}  # loaded, or being loaded
        self._lock = threading.Lock()

    def available(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob("*/manifest.json"))

    def manifest(self, name: str) -> ModelManifest:
        return read_manifest(self.root / name)

    def get(self, name: str) -> LoadedModel:
        """The verified model ``name``, loaded by this call or by the one already loading it.

        Raises LookError (model_missing, model_corrupt, model_mismatch); a model that failed to
        load is tried again by the next call.
        """
        with self._lock:
            future = self._loading.get(name)
            mine = future is None
            if mine:
                future = self._loading[name] = Future()
        if mine:
            try:
                future.set_result(self._load(name))
            except BaseException as exc:
                with self._lock:
                    del self._loading[name]
                future.set_exception(exc)
        return future.result()

    def preload(self, names: Iterable[str], workers: int = PRELOAD_THREADS) -> None:
        """Start loading ``names`` in ``workers`` background threads, in that order (the
        slowest first is best), and return at once; ``get`` waits for a model still loading.
        A failure is logged here and raised again by the next ``get`` of that model."""
        pool = ThreadPoolExecutor(workers, thread_name_prefix="model-load")
        for name in names:
            pool.submit(self._preload_one, name)
        pool.shutdown(wait=False)  # its threads end once the last model is loaded

    def _preload_one(self, name: str) -> None:
        try:
            self.get(name)
        except Exception as exc:
            log.warning("Model %s did not load in the background: %s", name,
                        getattr(exc, "message", exc))

    def _load(self, name: str) -> LoadedModel:
        started = time.perf_counter()
        manifest = self.manifest(name)
        graph = self._cpu_graph(manifest)
        if graph is None:
            verify_file(manifest)
        try:
            session = create_session(manifest.path, self.threads, cpu_graph=graph)
        except Exception as exc:  # ORT raises its own types for broken files
            raise LookError(
                ErrorCode.MODEL_CORRUPT, f"Model {name} could not be loaded: {exc}", 503
            ) from exc
        verify_signature(manifest, session)
        return LoadedModel(manifest, session, self.on_run,
                           load_ms=(time.perf_counter() - started) * 1e3,
                           optimized=graph is not None)

    def _cpu_graph(self, manifest: ModelManifest) -> Path | None:
        """The offline-optimised graph to load instead of the model's file, checked (its own
        sha256 instead of the model's), where the model will run on the CPU; else None."""
        if not only_cpu():
            return None
        graph = optimized.graph_for(manifest, self.optimized_dir)
        if graph is None or not optimized.verified(graph):
            return None
        return graph.path


def return_freed_memory() -> None:
    """Give the memory that loading freed back to the system (glibc's ``malloc_trim``).

    Optimising a graph allocates far more than the session keeps, and glibc holds on to what
    is freed, per thread: after the models of a look loaded two at a time, the server stayed
    about 60 MB larger than after loading them one by one, and both kept over 100 MB they no
    longer used (docs/speed.md, "Start-up"). Elsewhere (macOS, Windows, musl) nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)
