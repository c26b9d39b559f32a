#!/usr/bin/env bash
# The results of docs/results.md: MNIST-FID and digit coverage against steps and wall time, for the MLP and
# the DCGAN with 1 and 2 local workers on this machine. Each run's summary.json (with its evaluation
# history) and final sample grid go to docs/results/<name>/. Usage: scripts/results.sh [name ...]
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A RUNS=(
  [mlp-1w]="--arch mlp --workers 1 --batch-size 64 --steps 3000 --eval-every 500"
  [mlp-2w]="--arch mlp --workers 2 --batch-size 64 --steps 3000 --eval-every 500"
  [dcgan-1w]="--arch dcgan --workers 1 --batch-size 32 --steps 1000 --eval-every 250"
  [dcgan-2w]="--arch dcgan --workers 2 --batch-size 32 --steps 1000 --eval-every 250"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(mlp-1w mlp-2w dcgan-1w dcgan-2w)
for name in "${names[@]}"; do
  out="runs/results-$name"
  rm -rf "$out"
  # shellcheck disable=SC2086
  node dist/src/cli.js coordinator --spawn ${RUNS[$name]} --eval-count 2000 --keep-best --sample-every 0 \
    --backend wasm --bind 127.0.0.1 --port 0 --no-metrics --log-format json --out "$out" > "$out.log" 2>&1
  mkdir -p "docs/results/$name"
  cp "$out/summary.json" "docs/results/$name/summary.json"
  cp "$out/samples/final.png" "docs/results/$name/final.png"
  # The final generator on 10,000 samples, with the real-data floor and the untrained ceiling.
  node dist/src/cli.js evaluate --model "$out/generator" --count 10000 --json --backend wasm --log-format json > "docs/results/$name/evaluate.json" 2>> "$out.log"
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const h of s.evaluation.history) console.log(JSON.stringify({ run: process.argv[2], step: h.step, trainSeconds: +h.trainSeconds.toFixed(1), fid: +h.fid.toFixed(3), fidLogits: +h.fidLogits.toFixed(3), is: +h.inceptionScore.toFixed(2), digits5: h.digitsAtLeast5Percent, confidence: +h.meanConfidence.toFixed(3) }));
  ' "$out/summary.json" "$name"
done
