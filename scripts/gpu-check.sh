#!/usr/bin/env bash
# GPU check: for the MLP and the DCGAN on the WebGPU backend, the replica step with tfjs's kernels and with the
# trainer's own (img/s, dispatches per step), the trainer with 1 and GPU_WORKERS (4) workers sharing the GPU, and the
# PyTorch peer (scripts/peer.py, on cuda where nvidia-smi runs) with the ratios; one JSON line each, then a summary line
# per GAN. GPU_ARCHS, GPU_BATCH, GPU_STEPS, GPU_WORKERS, PEER_PYTHON, GPU_PYTORCH_DEVICE override the defaults.
# --tiny: batch 4 and 2 steps, to run it end to end on a slow adapter (lavapipe) without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/scripts/gpuCheck.js ] || npm run build >&2
exec node dist/scripts/gpuCheck.js "$@"
