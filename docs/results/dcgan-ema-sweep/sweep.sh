#!/bin/bash
# usage (from the repository root, after npm run build): bash docs/results/dcgan-ema-sweep/sweep.sh RUN_DIR OUT_DIR C:D...
# Each C:D is an average that keeps min(D, (1 + s)/(C + s)) per step s, rebuilt from RUN_DIR/checkpoints/ and scored on 10,000 samples.
run=$1; out=$2; shift 2
here=$(dirname "$0")
rm -rf "$out"; mkdir -p "$out"
node "$here/posthoc-average.mjs" "$run" "$out" "$@" > "$out/posthoc.json"
for v in "$@"; do
  c=${v%%:*}; d=${v##*:}
  node dist/src/cli.js evaluate --model "$out/c$c-d$d" --json --log-format json > "$out/c$c-d$d.evaluate.json"
done
