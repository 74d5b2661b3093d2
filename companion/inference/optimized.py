"""Graphs optimised once, at packaging or build time, so that a start does not optimise them again.

ONNX Runtime optimises every graph when it makes a session (constant folding, node fusions,
then the CPU's memory layout), and that was most of a session's making: the seven models of a
look took 0.33 s of CPU to load on this 2-core machine, the same graphs saved after the basic
and extended optimisations 0.22 s (docs/speed.md, "Start-up"). The packager (and ``python -m
packager.optimize`` for a checkout) saves each model at ``ORT_ENABLE_EXTENDED`` into a folder
of such graphs with ``optimized.json``; a session on the CPU then loads that graph, still at
``ORT_ENABLE_ALL``, so the layout optimisations, which depend on this CPU's instruction set,
run here as before. Not ``ORT_ENABLE_ALL`` offline: ONNX Runtime's documentation ties a graph
saved with the layout optimisations to hardware like the one that saved it (an AVX2 layout
needs an AVX2 CPU), and a bundle runs on shoppers' CPUs. Basic and extended optimisations are
graph rewrites for an execution provider (the CPU's fused operators), not for a CPU model.

A graph is used only where it stands for the manifest's model exactly: made from the file
with the manifest's sha256, by this onnxruntime version, for the CPU provider, and its own
sha256 checked as the model's is. Anything else (another onnxruntime, a GPU, a graph missing
or damaged) loads the manifest's own file, as before, and says why once in the log. The
outputs are the same, bit for bit (tests/integration/test_optimized_graphs.py).

The folder is ``$SHOP_THE_LOOK_OPTIMIZED`` or ``optimized/`` in the models folder (where the
packager puts it in a GPU build's bundle). It holds model files made from shipped models, nothing
else.

A CPU bundle ships one copy of each model: its graph *in place of* the original file (the
bundle's onnxruntime can run nothing but the CPU). The bundle's manifest then describes the
graph (file, sha256, bytes: what ``doctor``, ``models list`` and every load verify) and names
the model file it was made from in ``provenance.optimized_from`` (file, sha256, bytes,
onnxruntime, provider, level); ``provenance.embedding_sha256`` keeps the original's embedding,
so catalogs built with either match. With no original to fall back to, such a graph always
loads: by another onnxruntime than the one that saved it (which a frozen bundle cannot meet,
but models copied elsewhere can) it loads as it is and the log says so once, and on a GPU it
runs as it is too (operators fused for the CPU that the GPU's provider lacks run on the CPU).
A damaged one fails its sha256 like any model file: reinstall.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from companion.inference.manifest import ModelManifest, file_sha256

log = logging.getLogger(__name__)

OPTIMIZED_ENV = "SHOP_THE_LOOK_OPTIMIZED"
FOLDER = "optimized"  # inside the models folder (no manifest.json: not a model of its own)
INDEX = "optimized.json"
ORIGIN = "optimized_from"  # provenance key of a manifest whose file is an optimised graph
LEVEL = "extended"  # what the saved graphs have had; the layout optimisations run at load
PROVIDER = "CPUExecutionProvider"

_told: set[str] = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class OptimizedGraph:
    """One saved graph: the file, and the sha256 it must have."""

    path: Path
    sha256: str
    in_place: bool = False  # the model's own file (a CPU bundle's): nothing to fall back to


@dataclass(frozen=True)
class Origin:
    """The model file a graph shipped in place of the original was made from, and by what."""

    file: str
    sha256: str
    bytes: int
    onnxruntime: str
    provider: str
    level: str

    def describe(self) -> str:
        return (f"the graph optimised from {self.file} (sha256 {self.sha256[:12]}…) by "
                f"onnxruntime {self.onnxruntime} for {self.provider}; the original is not "
                "shipped")

    def foreign(self) -> str | None:
        """What happens with this onnxruntime where another one saved the graph; else None."""
        if self.onnxruntime == ort.__version__ and self.provider == PROVIDER:
            return None
        return (f"it was saved by onnxruntime {self.onnxruntime} for {self.provider} and this "
                f"is onnxruntime {ort.__version__}: with no original file to fall back to it "
                "loads as it is (answers may differ slightly from that version's; an operator "
                "this version lacks stops it from loading)")


def origin(manifest: ModelManifest) -> Origin | None:
    """Where ``manifest``'s file came from when it is an optimised graph shipped in place of
    the model's own file (a CPU bundle's); None for a model's own file."""
    made = manifest.provenance.get(ORIGIN)
    if not made:
        return None
    return Origin(file=str(made["file"]), sha256=str(made["sha256"]), bytes=int(made["bytes"]),
                  onnxruntime=str(made["onnxruntime"]), provider=str(made["provider"]),
                  level=str(made["level"]))


def folder_for(models_root: Path) -> Path:
    """Where the optimised graphs of ``models_root`` are: the variable's folder, else beside
    the models."""
    override = os.environ.get(OPTIMIZED_ENV)
    return Path(override) if override else models_root / FOLDER


def graph_for(manifest: ModelManifest, folder: Path) -> OptimizedGraph | None:
    """The optimised graph of ``manifest``'s model in ``folder``, or None where none fits (no
    folder, another onnxruntime, another model file); the file's own sha256 is checked by the
    caller, like the model's. A manifest whose file is itself such a graph gets that file."""
    made = origin(manifest)
    if made is not None:
        problem = made.foreign()
        if problem:
            _once(f"{manifest.name} ships only as {made.describe()}; {problem}. If it fails "
                  "or looks change, reinstall the companion (its models and onnxruntime come "
                  "together).")
        return OptimizedGraph(manifest.path, manifest.sha256, in_place=True)
    index = _read_index(folder)
    if index is None:
        return None
    if index.get("onnxruntime") != ort.__version__ or index.get("provider") != PROVIDER:
        _once(f"Optimised graphs in {folder} were made by onnxruntime "
              f"{index.get('onnxruntime')} for {index.get('provider')}; this is "
              f"{ort.__version__}: the models load unoptimised (slower to start, same looks).")
        return None
    entry = index.get("models", {}).get(manifest.name)
    if not entry or entry.get("source_sha256") != manifest.sha256:
        _once(f"No optimised graph of {manifest.name} (sha256 {manifest.sha256[:12]}…) in "
              f"{folder}: it loads unoptimised.")
        return None
    return OptimizedGraph(folder / entry["file"], entry["sha256"])


def verified(graph: OptimizedGraph) -> bool:
    """Whether the graph's file is there with the sha256 it was saved with (else it is not
    used, and the log says so)."""
    if graph.path.is_file() and file_sha256(graph.path) == graph.sha256:
        return True
    if graph.in_place:
        _once(f"The optimised graph {graph.path}, its model's only copy here, is missing or "
              "damaged: reinstall the companion.")
    else:
        _once(f"The optimised graph {graph.path} is missing or damaged: its model loads "
              "unoptimised.")
    return False


def _read_index(folder: Path) -> dict | None:
    path = folder / INDEX
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _once(f"{path} cannot be read ({exc}): the models load unoptimised.")
        return None


def _once(message: str) -> None:
    with _lock:
        if message in _told:
            return
        _told.add(message)
    log.warning(message)
