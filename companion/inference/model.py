"""The base of every model wrapper: built cheaply, loaded once on first use, called by ``predict``.

Why lazy: the pipeline builds a wrapper for every network at start, but a look may never need
some of them (CenterNet runs only for groups), and a server should start before its models are
read. Why a lock: the server runs looks in worker threads, and the first looks of a fresh process
may all reach for a model at once; it must be loaded and verified once. The session itself comes
from the ModelStore, the one cache of verified sessions (its sessions are shared by every wrapper
of the same model). Modelled on the immich machine-learning service's ``InferenceModel``.

A subclass names its model, implements ``_predict`` (its pre-processing, the session call, its
post-processing) and reads its manifest's settings through ``settings``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from companion.inference.manifest import ModelManifest, TensorSpec
from companion.inference.preprocess import to_model_input
from companion.inference.store import LoadedModel, ModelStore


@dataclass(frozen=True)
class ModelSettings:
    """What a wrapper reads from its manifest, read in one place: the input tensor and its
    image size, the output labels, and the model-specific ``extra`` (thresholds, fills, …)."""

    input: TensorSpec
    labels: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, manifest: ModelManifest) -> ModelSettings:
        return cls(manifest.input, list(manifest.labels), dict(manifest.extra))

    def size(self, default: int | tuple[int, int]) -> tuple[int, int]:
        """(width, height) of the input image: ``extra.input_size`` (square) when given, else the
        input's fixed spatial dimensions, else ``default`` (a square side, or width, height)."""
        if "input_size" in self.extra:
            side = int(self.extra["input_size"])
            return side, side
        shape = self.input.shape
        height, width = (shape[2], shape[3]) if self.input.layout == "NCHW" else shape[1:3]
        if isinstance(height, int) and isinstance(width, int):
            return width, height
        return (default, default) if isinstance(default, int) else default

    def number(self, key: str, default: float) -> float:
        """A numeric setting of ``extra`` (a threshold, a margin), or ``default``."""
        return float(self.extra.get(key, default))

    def get(self, key: str, default: Any) -> Any:
        """Any other setting of ``extra`` as the manifest states it, or ``default``."""
        return self.extra.get(key, default)


class InferenceModel(ABC):
    """One network: ``predict(...)`` loads it on first use and runs the subclass's ``_predict``."""

    model_name: ClassVar[str]  # the folder of its manifest under models/, unless told another

    def __init__(self, store: ModelStore, name: str | None = None) -> None:
        self.store = store
        self.name = name or self.model_name
        self._model: LoadedModel | None = None
        self._settings: ModelSettings | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> LoadedModel:
        """The verified model; the first call loads it, once, however many threads ask at once.

        Raises LookError (model_missing, model_corrupt, model_mismatch) as the store does.
        """
        if self._model is None:
            with self._lock:
                if self._model is None:
                    model = self.store.get(self.name)
                    self._settings = ModelSettings.of(model.manifest)
                    self._model = model
        return self._model

    @property
    def manifest(self) -> ModelManifest:
        return self.load().manifest

    @property
    def settings(self) -> ModelSettings:
        self.load()
        assert self._settings is not None
        return self._settings

    def predict(self, *inputs: Any, **options: Any) -> Any:
        """The model's answer for ``inputs`` as plain data (see the subclass's ``_predict``)."""
        self.load()
        return self._predict(*inputs, **options)

    @abstractmethod
    def _predict(self, *inputs: Any, **options: Any) -> Any:
        """Pre-process, run the session (``_run``), post-process."""

    def _input(self, images: np.ndarray) -> np.ndarray:
        """uint8 RGB images (N×H×W×3) as the manifest's input tensor."""
        return to_model_input(images, self.settings.input)

    def _run(self, tensor: np.ndarray) -> dict[str, np.ndarray]:
        """The model's outputs by name for one input tensor."""
        model = self.load()
        return model.run({model.manifest.input.name: tensor})

    def _output(self, tensor: np.ndarray) -> np.ndarray:
        """The model's first output, for models with one."""
        return next(iter(self._run(tensor).values()))
