#!/usr/bin/env bash
# GPU check: on a host with an NVIDIA (or any Vulkan) GPU, a 1-worker and a 4-worker --spawn run
# of the DCGAN on the WebGPU backend and the bare TensorFlow.js loop of the same model; prints one JSON line.
# GPU_ARCH (dcgan), GPU_BATCH (256), GPU_STEPS (100), GPU_WORKERS (4), GPU_BACKEND (webgpu) override the
# defaults; GPU_PYTORCH_IMAGES_PER_SECOND adds the ratio to a PyTorch figure measured on the same GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/scripts/gpuCheck.js ] || npm run build >&2
exec node dist/scripts/gpuCheck.js
