#!/usr/bin/env bash
# GPU check: on a host with an NVIDIA (or any Vulkan) GPU, a 1-worker and a 4-worker --spawn run
# on the WebGPU backend and the bare TensorFlow.js loop of the same model; prints one JSON line.
# GPU_ARCH (mlp), GPU_BATCH (64), GPU_STEPS (200), GPU_WORKERS (4) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/scripts/gpuCheck.js ] || npm run build >&2
exec node dist/scripts/gpuCheck.js
