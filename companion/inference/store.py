"""Loads each model once, verified against its manifest, and hands out sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from companion import paths
from companion.errors import ErrorCode, LookError
from companion.inference.manifest import (
    ModelManifest,
    read_manifest,
    verify_file,
    verify_signature,
)
from companion.inference.session import Threads, create_session

# Told of every session run: the model's name, its feeds and the milliseconds it took
# (benchmarks/bench_look.py's per-model table).
RunObserver = Callable[[str, dict, float], None]


@dataclass(frozen=True)
class LoadedModel:
    manifest: ModelManifest
    session: ort.InferenceSession
    on_run: RunObserver | None = None

    def run(self, feeds: dict) -> dict:
        """Run the model and return its outputs by name."""
        names = [o.name for o in self.session.get_outputs()]
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
        self._loaded: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def available(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob("*/manifest.json"))

    def manifest(self, name: str) -> ModelManifest:
        return read_manifest(self.root / name)

    def get(self, name: str) -> LoadedModel:
        with self._lock:
            if name not in self._loaded:
                manifest = self.manifest(name)
                verify_file(manifest)
                try:
                    session = create_session(manifest.path, self.threads)
                except Exception as exc:  # ORT raises its own types for broken files
                    raise LookError(
                        ErrorCode.MODEL_CORRUPT, f"Model {name} could not be loaded: {exc}", 503
                    ) from exc
                verify_signature(manifest, session)
                self._loaded[name] = LoadedModel(manifest, session, self.on_run)
            return self._loaded[name]
