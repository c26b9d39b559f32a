#!/usr/bin/env bash
# The quality runs of docs/results.md: the DCGAN trained by PyTorch (scripts/peerTrain.py) and by the
# trainer with each worker count of WORKERS (default "1 2"; the global batch BATCH, default 32, split
# among them), for the same number of images, in the trainer's data order; every run evaluated every
# EVAL_EVERY steps on 2000 samples, the final generators on 10,000; then the FID histories on one
# plot, with any run directories named in EXTRA_RUNS ("NAME=DIR;NAME=DIR", e.g. a longer run of the
# same global batch) drawn beside them. SEED (default 42) seeds the data order, both initialisations and both
# noise streams (each implementation draws its own from it).
#   [BATCH=32] [WORKERS="1 2"] [SEED=42] [EXTRA_RUNS=...] scripts/peerQuality.sh OUT_DIR [IMAGES=6400] [EVAL_EVERY=50]
# Run it after `npm run build`; CPU-heavy: prefix with `nice -n 10` on a shared machine.
set -euo pipefail
OUT=${1:?usage: peerQuality.sh OUT_DIR [IMAGES] [EVAL_EVERY]}
IMAGES=${2:-6400}
EVERY=${3:-50}
BATCH=${BATCH:-32}
WORKERS=${WORKERS:-1 2}
SEED=${SEED:-42}
if ! [[ $SEED =~ ^[0-9]+$ ]]; then echo "peerQuality.sh: SEED must be a non-negative integer, got '$SEED'" >&2; exit 2; fi
STEPS=$((IMAGES / BATCH))
PY=${PEER_PYTHON:-/usr/bin/python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI="node $ROOT/dist/src/cli.js"
MNIST=$(node -e "import('$ROOT/dist/src/shared/data/dataset.js').then(m => console.log(m.bundledMnistDir()))")
mkdir -p "$OUT/pytorch"
# The trainer's data order (seed SEED), epoch after epoch, as little-endian uint32 indices.
node -e "
import('$ROOT/dist/src/shared/data/sharding.js').then((m) => {
  const epochs = Math.ceil($IMAGES / 60000) + 1;
  const parts = Array.from({ length: epochs }, (_, e) => Buffer.from(m.epochPermutation(60000, $SEED, e).buffer));
  require('node:fs').writeFileSync('$OUT/order.u32', Buffer.concat(parts));
});"
$PY "$ROOT/scripts/peerTrain.py" --mnist "$MNIST/train-images-idx3-ubyte" --order "$OUT/order.u32" --out "$OUT/pytorch" \
  --images "$IMAGES" --batch $BATCH --eval-every "$EVERY" --seed "$SEED" > "$OUT/pytorch/train.jsonl"
"$ROOT/scripts/scoreSamples.sh" samples "$OUT/pytorch" "$OUT/pytorch/history.jsonl"
$CLI evaluate --images "$OUT/pytorch/final.npy" --json --log-format json > "$OUT/pytorch/evaluate.json"
for w in $WORKERS; do
  if (( BATCH % w != 0 )); then echo "peerQuality.sh: BATCH $BATCH does not split among $w workers" >&2; exit 2; fi
  # PyTorch's twin's hyperparameters (Adam 2e-4 constant, betas 0.5/0.999, no weight average), whatever the trainer's defaults.
  $CLI coordinator --workers $w --spawn --arch dcgan --steps $STEPS --batch-size $((BATCH / w)) --beta1 0.5 --lr 2e-4 --lr-decay 0 --ema-decay 0 --seed "$SEED" --eval-every "$EVERY" --eval-count 2000 \
    --sample-every 0 --port 0 --metrics-port 0 --bind 127.0.0.1 --out "$OUT/trainer-${w}w" --log-format json > "$OUT/trainer-${w}w.log" 2>&1
  $CLI evaluate --model "$OUT/trainer-${w}w/generator" --json --log-format json > "$OUT/trainer-${w}w/evaluate.json"
done
SERIES=()
for w in $WORKERS; do SERIES+=("trainer, $w worker$([ "$w" = 1 ] || echo s)=$OUT/trainer-${w}w"); done
IFS=';' read -r -a EXTRA <<< "${EXTRA_RUNS:-}"
node "$ROOT/dist/scripts/qualityPlot.js" "$OUT/fid-vs-images.svg" "${SERIES[@]}" ${EXTRA[@]+"${EXTRA[@]}"} "PyTorch=peer:$OUT/pytorch/history.jsonl" | tee "$OUT/quality.json"
