#!/usr/bin/env bash
# The GPU check of issue 31, prepared for a machine with an NVIDIA GPU; UNTESTED: no GPU was at
# hand when it was written. Shows that --device auto chooses CUDA, that its matches agree with
# the CPU's (top-10 overlap >= 0.9 on the street test photos) and the speed-up.
#   scripts/gpu_check.sh [INDEX_DIR] [DATA_DIR]     (defaults: index/demo, ../shared/data)
# Needs onnxruntime-gpu instead of onnxruntime in the environment (CUDA 12 and cuDNN 9 from the
# driver or the nvidia-*-cu12 wheels): pip uninstall -y onnxruntime; pip install onnxruntime-gpu
# Writes nvidia-smi.txt, onnxruntime.txt, doctor.txt and device.json to $OUT (default:
# build/gpu-check); exits 0 only when the check passes. Then (issue 32, also UNTESTED on a GPU):
# bench_look.txt (CUDA against the CPU, per step and per model, in one run: target <= 25 ms per
# look on the GPU) and retrieval through the look on CUDA and on the CPU
# (look_retrieval_{cuda,cpu}.json; LOOK_RETRIEVAL_LIMIT=N for a shorter run).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
index=${1:-index/demo}
data=${2:-../shared/data}
out=${OUT:-build/gpu-check}
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed: is there an NVIDIA GPU?" >&2
"$python" -c "import onnxruntime as o; print(o.__version__, o.get_available_providers())" \
  | tee "$out/onnxruntime.txt"
if ! grep -q CUDAExecutionProvider "$out/onnxruntime.txt"; then
  echo "this onnxruntime offers no CUDA: pip uninstall -y onnxruntime; pip install onnxruntime-gpu" >&2
  exit 2
fi
# which provider starts, and whether each model and the catalog are sound
"$python" -m companion.cli doctor --device auto --index "$index" | tee "$out/doctor.txt" || true
# CPU against auto on every street test photo, each in its own process
status=0
"$python" -m benchmarks.bench_device --index "$index" --data "$data" --json \
  | tee "$out/device.json" || status=$?
# Per step and per model, CUDA ("this") against the CPU ("baseline") with the same models.
"$python" -m benchmarks.bench_look --device cuda --baseline-models models --build 0 \
  --data "$data" --index "$index" | tee "$out/bench_look.txt" || true
# Retrieval through the look: the look command's default device (auto: CUDA here), then the CPU.
limit=(${LOOK_RETRIEVAL_LIMIT:+--limit "$LOOK_RETRIEVAL_LIMIT"})
"$python" -m training.evaluate.look_retrieval --index "$index" --data "$data" "${limit[@]}" \
  --save "$out/looks_cuda.jsonl" --json "$out/look_retrieval_cuda.json" || true
SHOP_THE_LOOK_PROVIDER=cpu "$python" -m training.evaluate.look_retrieval --index "$index" \
  --data "$data" "${limit[@]}" --save "$out/looks_cpu.jsonl" \
  --json "$out/look_retrieval_cpu.json" || true
exit $status
