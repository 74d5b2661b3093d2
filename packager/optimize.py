"""The models' graphs optimised once, at build time, so the companion does not optimise them at
every start (companion/inference/optimized.py says why, and why only to ``ORT_ENABLE_EXTENDED``).

A CPU bundle gets each model's graph in place of its own file (``ship_in_place``: one copy,
the manifest describing the graph and naming the file it was made from); a bundle whose
onnxruntime offers a GPU keeps the models' own files, which a GPU needs, and the graphs beside
them in ``optimized/`` (``optimize_models``), as a checkout can:

    python -m packager.optimize                       # -> build/optimized
    SHOP_THE_LOOK_OPTIMIZED=build/optimized shop-the-look serve

Each graph is saved by the onnxruntime that will load it (the bundle freezes the one installed
here) and kept in ``build/optimized-cache`` between builds: the same model file and onnxruntime give
the same graph, so two brands' bundles get identical files. Generated files: never committed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from companion.inference.manifest import ModelManifest, file_sha256, read_manifest
from companion.inference.optimized import INDEX, LEVEL, ORIGIN, PROVIDER
from companion.inference.session import ort  # onnxruntime, with its telemetry off

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "build" / "optimized-cache"  # <onnxruntime>-<model sha256>.onnx, reused
IN_PLACE_SUFFIX = ".optimized.onnx"  # a graph shipped in place of <model>.onnx


def left_out(manifest: ModelManifest, *also: str):
    """A copytree ``ignore`` for a model folder going into a bundle: the float file an int8 model
    was made from (its manifest's ``provenance.float_file``: for training, never run) and
    ``also``."""
    skip = {manifest.provenance.get("float_file"), *also}
    return lambda _dir, files: [f for f in files if f in skip]


def optimize_models(models_root: Path, names: list[str], out: Path,
                    cache: Path | None = CACHE) -> dict:
    """Save each model of ``names`` under ``models_root`` optimised to ``out`` with the index
    the companion reads; reuse ``cache``'s graph of the same file and onnxruntime. The index."""
    out.mkdir(parents=True, exist_ok=True)
    models = {}
    for name in names:
        manifest = read_manifest(models_root / name)
        target = out / manifest.path.name
        write_graph(manifest.path, manifest.sha256, target, cache)
        models[name] = {"file": target.name, "source_sha256": manifest.sha256,
                        "sha256": file_sha256(target), "bytes": target.stat().st_size}
    index = {"onnxruntime": ort.__version__, "provider": PROVIDER, "level": LEVEL,
             "models": models}
    (out / INDEX).write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    return index


def ship_in_place(models_root: Path, names: list[str], dest: Path,
                  cache: Path | None = CACHE) -> dict[str, dict]:
    """Each model of ``names`` into ``dest/<name>/`` as its optimised graph alone, for a bundle
    that runs on the CPU only: the folder as it is but the model's file, the graph as
    ``<model>.optimized.onnx``, and a manifest whose file, sha256 and bytes are the graph's,
    with ``provenance.optimized_from`` naming the file it was made from (its sha256, bytes, and
    the onnxruntime, provider and level) and ``provenance.embedding_sha256`` kept, so a catalog
    built with the original still matches. The manifests' provenance, by name."""
    shipped = {}
    for name in names:
        source = models_root / name
        manifest = read_manifest(source)
        folder = dest / name
        shutil.copytree(source, folder, ignore=left_out(manifest, manifest.path.name))
        target = folder / (manifest.path.stem + IN_PLACE_SUFFIX)
        write_graph(manifest.path, manifest.sha256, target, cache)
        data = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
        data["provenance"] = {
            **data.get("provenance", {}), "embedding_sha256": manifest.embedding_sha256,
            ORIGIN: {"file": manifest.path.name, "sha256": manifest.sha256,
                     "bytes": manifest.size_bytes, "onnxruntime": ort.__version__,
                     "provider": PROVIDER, "level": LEVEL}}
        data.update(file=target.name, sha256=file_sha256(target), bytes=target.stat().st_size)
        (folder / "manifest.json").write_text(
            json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        shipped[name] = data["provenance"]
    return shipped


def write_graph(source: Path, source_sha256: str, target: Path, cache: Path | None) -> None:
    """``source``'s optimised graph at ``target``: ``cache``'s copy made by this onnxruntime
    from the same file, else made now (and kept there)."""
    kept = cache / f"{ort.__version__}-{source_sha256[:16]}.onnx" if cache else None
    if kept is not None and kept.is_file():
        shutil.copy2(kept, target)
        return
    save_optimized(source, target)
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, kept)


def save_optimized(source: Path, target: Path) -> None:
    """``source`` after ONNX Runtime's basic and extended optimisations for the CPU, at
    ``target`` (written whole, then moved into place)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        saved = Path(work) / target.name
        options.optimized_model_filepath = str(saved)
        ort.InferenceSession(str(source), options, providers=[PROVIDER])
        saved.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=REPO / "models",
                        help="the models folder (default: models/)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "optimized",
                        help="where the graphs and their index go (default: build/optimized)")
    parser.add_argument("names", nargs="*", help="models (default: every one)")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.parent.name for p in args.models.glob("*/manifest.json"))
    index = optimize_models(args.models, names, args.out)
    print(f"{len(index['models'])} graphs optimised by onnxruntime {index['onnxruntime']} in "
          f"{args.out}; use them with SHOP_THE_LOOK_OPTIMIZED={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
