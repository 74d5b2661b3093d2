"""Model manifests: what a model file is, how to feed it and what it returns.

A manifest sits next to its ONNX file (``models/<name>/manifest.json``). Loading a model checks the
file's sha256 and that the graph declares the inputs and outputs the manifest promises, so a
swapped or corrupted model fails loudly instead of returning constant garbage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from companion.errors import ErrorCode, LookError


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: list  # ints, or strings for symbolic dimensions
    dtype: str
    layout: str = ""  # NHWC / NCHW for images
    value_range: tuple[float, float] | None = None  # the pixel range the model expects
    mean: tuple[float, ...] | None = None  # optional per-channel mean on 0..1 pixels
    std: tuple[float, ...] | None = None
    meaning: str = ""


@dataclass(frozen=True)
class ModelManifest:
    name: str
    task: str
    path: Path
    sha256: str
    size_bytes: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    labels: list[str] = field(default_factory=list)
    licence: str = ""
    provenance: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # model-specific settings (thresholds, sizes, …)

    @property
    def input(self) -> TensorSpec:
        return self.inputs[0]

    def output(self, name: str) -> TensorSpec:
        return next(o for o in self.outputs if o.name == name)

    @property
    def embedding_sha256(self) -> str:
        """Which embedding this model computes, as the catalog indexes record it: the sha256 of
        the file that first computed it. A file that only adds outputs around the same
        embedding (checked bit for bit when it is made) names its predecessor in
        ``provenance.embedding_sha256``, so catalogs built with either stay valid."""
        return str(self.provenance.get("embedding_sha256", self.sha256))


def _tensor(data: dict) -> TensorSpec:
    value_range = data.get("range")
    return TensorSpec(
        name=data["name"],
        shape=list(data["shape"]),
        dtype=data["dtype"],
        layout=data.get("layout", ""),
        value_range=tuple(value_range) if value_range else None,
        mean=tuple(data["mean"]) if data.get("mean") else None,
        std=tuple(data["std"]) if data.get("std") else None,
        meaning=data.get("meaning", ""),
    )


def read_manifest(model_dir: Path) -> ModelManifest:
    """Parse ``manifest.json`` in ``model_dir`` (no checks of the model file yet)."""
    manifest_path = model_dir / "manifest.json"
    if not manifest_path.is_file():
        raise LookError(
            ErrorCode.MODEL_MISSING,
            f"No model manifest at {manifest_path}. Reinstall Shop the Look or run "
            "python -m training.convert.",
            503,
        )
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    return ModelManifest(
        name=data["name"],
        task=data["task"],
        path=model_dir / data["file"],
        sha256=data["sha256"],
        size_bytes=int(data["bytes"]),
        inputs=[_tensor(t) for t in data["inputs"]],
        outputs=[_tensor(t) for t in data["outputs"]],
        labels=list(data.get("labels", [])),
        licence=data.get("licence", ""),
        provenance=dict(data.get("provenance", {})),
        extra=dict(data.get("extra", {})),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(manifest: ModelManifest) -> None:
    """Raise ``model_missing`` / ``model_corrupt`` unless the file matches the manifest."""
    if not manifest.path.is_file():
        raise LookError(
            ErrorCode.MODEL_MISSING,
            f"Model file {manifest.path} is missing. Reinstall Shop the Look.",
            503,
        )
    actual = file_sha256(manifest.path)
    if actual != manifest.sha256:
        raise LookError(
            ErrorCode.MODEL_CORRUPT,
            f"Model {manifest.name} does not match its manifest (sha256 {actual[:12]}…, "
            f"expected {manifest.sha256[:12]}…). Reinstall Shop the Look.",
            503,
        )


def verify_signature(manifest: ModelManifest, session) -> None:
    """Check the ONNX graph declares the manifest's input/output names, ranks and fixed dims."""

    def check(declared: list[TensorSpec], actual: list, kind: str) -> None:
        by_name = {a.name: a for a in actual}
        for spec in declared:
            got = by_name.get(spec.name)
            if got is None:
                raise LookError(
                    ErrorCode.MODEL_MISMATCH,
                    f"Model {manifest.name} has no {kind} named {spec.name!r}.",
                    503,
                )
            fixed_ok = len(got.shape) == len(spec.shape) and all(
                not isinstance(want, int) or not isinstance(have, int) or want == have
                for want, have in zip(spec.shape, got.shape, strict=True)
            )
            if not fixed_ok:
                raise LookError(
                    ErrorCode.MODEL_MISMATCH,
                    f"Model {manifest.name} {kind} {spec.name!r} has shape {got.shape}, "
                    f"manifest says {spec.shape}.",
                    503,
                )

    check(manifest.inputs, session.get_inputs(), "input")
    check(manifest.outputs, session.get_outputs(), "output")
