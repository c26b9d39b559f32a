#!/usr/bin/env bash
# The DCGAN trained by the trainer and by PyTorch from the same draws: the trainer's initial weights, its
# noise and its batches (seed SEED, global batch BATCH) for IMAGES images, so that the two runs differ
# in the implementation alone (scripts/peerQuality.sh gives each implementation its own draws).
#   1. scripts/peerReplay.js: the trainer's 1-worker run, bare (the same bits as `trainer coordinator
#      --workers 1` with peerQuality.sh's flags), every input and every EVAL_EVERY steps its generator;
#   2. scripts/peerReplay.py: PyTorch's twin takes the same steps, as 1 worker and as each W > 1 of
#      WORKERS (batch norm per slice, as W workers); both sample from one noise stream;
#   3. every sample file scored with `trainer evaluate --images`.
# Writes OUT/replay/{meta.json,losses.jsonl} (the replay's inputs are deleted: hundreds of MB),
# OUT/twin-<W>w/{report.json,history.jsonl} (PyTorch), OUT/twin-1w/trainer-history.jsonl (the trainer's
# generators in the same scoring) and OUT/fid-vs-images.svg, with any run directories named in
# EXTRA_RUNS ("NAME=DIR;NAME=DIR", e.g. peerQuality.sh's trainer-2w of the same seed) beside them.
#   [BATCH=128] [SEED=42] [WORKERS="1 2"] [EXTRA_RUNS=...] scripts/peerLockstep.sh OUT [IMAGES=128000] [EVAL_EVERY=250]
# Run it after `npm run build`. The twins run at once, one thread each.
set -euo pipefail
OUT=${1:?usage: peerLockstep.sh OUT [IMAGES] [EVAL_EVERY]}
IMAGES=${2:-128000}
EVERY=${3:-250}
BATCH=${BATCH:-128}
SEED=${SEED:-42}
WORKERS=${WORKERS:-1 2}
if ! [[ $SEED =~ ^[0-9]+$ ]]; then echo "peerLockstep.sh: SEED must be a non-negative integer, got '$SEED'" >&2; exit 2; fi
# The trainer's replay is of one worker: its own generators are scored with the 1-worker twin's.
if [[ " $WORKERS " != *" 1 "* ]]; then echo "peerLockstep.sh: WORKERS must include 1, got '$WORKERS'" >&2; exit 2; fi
STEPS=$((IMAGES / BATCH))
PY=${PEER_PYTHON:-/usr/bin/python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
node "$ROOT/dist/scripts/peerReplay.js" dcgan auto "$BATCH" "$STEPS" "$OUT/replay" "$SEED" "$EVERY" > "$OUT/replay.json"
pids=()
for w in $WORKERS; do
  if (( BATCH % w != 0 )); then echo "peerLockstep.sh: BATCH $BATCH does not split among $w workers" >&2; exit 2; fi
  $PY "$ROOT/scripts/peerReplay.py" "$OUT/replay" --workers "$w" --eval-every "$EVERY" --out "$OUT/twin-${w}w" > "$OUT/twin-${w}w.json" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
SERIES=()
for w in $WORKERS; do
  mv "$OUT/twin-${w}w.json" "$OUT/twin-${w}w/report.json"
  "$ROOT/scripts/scoreSamples.sh" pytorch "$OUT/twin-${w}w" "$OUT/twin-${w}w/history.jsonl"
  SERIES+=("PyTorch from the trainer's draws, $w worker$([ "$w" = 1 ] || echo s)=peer:$OUT/twin-${w}w/history.jsonl")
done
"$ROOT/scripts/scoreSamples.sh" trainer "$OUT/twin-1w" "$OUT/twin-1w/trainer-history.jsonl"
rm -f "$OUT"/twin-*w/*.npy
find "$OUT/replay" -type f ! -name meta.json ! -name losses.jsonl -delete
IFS=';' read -r -a EXTRA <<< "${EXTRA_RUNS:-}"
node "$ROOT/dist/scripts/qualityPlot.js" "$OUT/fid-vs-images.svg" "${SERIES[@]}" "trainer, 1 worker=peer:$OUT/twin-1w/trainer-history.jsonl" ${EXTRA[@]+"${EXTRA[@]}"} | tee "$OUT/quality.json"
