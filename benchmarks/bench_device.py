"""GPU against CPU on the street test photos: which provider ``--device auto`` picks, how close
its matches are to the CPU's (top-10 overlap per garment) and the speed-up. Prepared for a
machine with an NVIDIA GPU and onnxruntime-gpu (scripts/gpu_check.sh runs it); on a machine
without one, auto is the CPU and the overlap is 1.0.

    python -m benchmarks.bench_device --index index/demo            # all test photos
    python -m benchmarks.bench_device --index DIR --photos 50 --json

Each device runs in a process of its own (the device is a choice of the whole process): models
loaded and warmed up, then every photo once with top_k=10; looks are paired garment by garment
(same category, boxes overlapping by IoU ≥ 0.5). Passes (exit 0) when auto ran on CUDA and
the mean overlap is at least 0.9.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from companion.pipeline.imaging import iou
from training.data import data_root

TOP_K = 10
MIN_OVERLAP = 0.9
MIN_IOU = 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="a catalog index folder")
    parser.add_argument("--data", type=Path, default=data_root(),
                        help="folder holding street/ (default: %(default)s)")
    parser.add_argument("--photos", type=int, default=0, help="only the first N test photos")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", choices=["cpu", "auto", "cuda"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    street = args.data / "street"
    photos = [street / "images" / n for n in (street / "test.txt").read_text().split()]
    photos = photos[: args.photos] if args.photos else photos
    if args.worker:
        return work(args.worker, args.index, photos, args.out)
    runs = {device: run_worker(device, args) for device in ("cpu", "auto")}
    report = compare(runs["cpu"], runs["auto"])
    print(json.dumps(report, indent=1) if args.json else summary(report))
    passed = report["auto_provider"] == "CUDAExecutionProvider" and report[
        "mean_top10_overlap"] >= MIN_OVERLAP
    return 0 if passed else 1


def run_worker(device: str, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        command = [sys.executable, "-m", "benchmarks.bench_device", "--worker", device,
                   "--index", str(args.index), "--data", str(args.data), "--out", str(out),
                   *(["--photos", str(args.photos)] if args.photos else [])]
        subprocess.run(command, check=True)
        return json.loads(out.read_text())


def work(device: str, index: Path, photos: list[Path], out: Path) -> int:
    """One device's looks: {provider, looks: [{photo, ms, items: [...]}]}."""
    from companion.catalog.catalogs import Catalogs
    from companion.inference.session import providers_in_use, use_device
    from companion.inference.store import ModelStore
    from companion.pipeline.look import LookPipeline, LookRequest
    from companion.server.warmup import warm_up_pipeline

    use_device(device)
    pipeline = LookPipeline(ModelStore(), Catalogs.open([index]))
    warm_up_pipeline(pipeline)
    looks = []
    for photo in photos:
        data = photo.read_bytes()
        began = time.perf_counter()
        look = pipeline.run(data, source=photo.name, request=LookRequest(top_k=TOP_K))
        looks.append({"photo": photo.name, "ms": (time.perf_counter() - began) * 1e3,
                      "items": [{"category": i.garment.category, "box": list(i.garment.box),
                                 "ids": [m.id for m in i.matches]}
                                for i in look.items]})
    used = sorted(set(providers_in_use().values()))
    out.write_text(json.dumps({"device": device, "providers": used, "looks": looks}))
    return 0


def compare(cpu: dict, auto: dict) -> dict:
    overlaps, unpaired = [], 0
    for on_cpu, on_auto in zip(cpu["looks"], auto["looks"], strict=True):
        for item in on_cpu["items"]:
            twin = next((other for other in on_auto["items"]
                         if other["category"] == item["category"]
                         and iou(tuple(other["box"]), tuple(item["box"])) >= MIN_IOU), None)
            if twin is None:
                unpaired += 1
                overlaps.append(0.0)
                continue
            shared = set(item["ids"]) & set(twin["ids"])
            overlaps.append(len(shared) / max(len(item["ids"]), 1))
    cpu_ms = statistics.median(look["ms"] for look in cpu["looks"])
    auto_ms = statistics.median(look["ms"] for look in auto["looks"])
    return {"photos": len(cpu["looks"]), "garments": len(overlaps), "unpaired": unpaired,
            "auto_provider": auto["providers"][0] if len(auto["providers"]) == 1 else
            ",".join(auto["providers"]), "cpu_provider": ",".join(cpu["providers"]),
            "mean_top10_overlap": round(statistics.mean(overlaps), 4) if overlaps else 1.0,
            "cpu_median_ms": round(cpu_ms, 1), "auto_median_ms": round(auto_ms, 1),
            "speed_up": round(cpu_ms / auto_ms, 2)}


def summary(report: dict) -> str:
    return (f"--device auto ran on {report['auto_provider']} (cpu: {report['cpu_provider']}); "
            f"{report['photos']} photos, {report['garments']} garments "
            f"({report['unpaired']} without a twin): mean top-10 overlap "
            f"{report['mean_top10_overlap']:.3f} (needs ≥ {MIN_OVERLAP}); median look "
            f"{report['cpu_median_ms']:.0f} ms on the CPU, {report['auto_median_ms']:.0f} ms "
            f"with auto: {report['speed_up']:.2f}× faster")


if __name__ == "__main__":
    sys.exit(main())
