#!/usr/bin/env bash
# The final build against the last stop's: OLD = 8806cdc, NEW = a4dcf30 (spawned workers that fill the cores:
# --single-threaded --max-semi-space-size=64; checkpoints as parts). The product path alternating (as
# spawn-pairs.sh: 6 pairs of 2 workers, 3 of 1), then bench:train (200 steps, 2 rounds inside) in 2 pairs.
set -uo pipefail
NEW=/work/main; OLD=/work/wt/base; Q=$NEW/docs/measurements/shared-cores-2026-12-04
steady() { node -e 'const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);const a=r.find(x=>x.step===100),b=r[r.length-1];console.log(((b.images-a.images)/(b.seconds-a.seconds)).toFixed(0))' "$1"; }
for W in 2 1; do
  pairs=$([ $W = 2 ] && echo 6 || echo 3)
  for round in $(seq 1 $pairs); do for b in $OLD $NEW; do
    name=$([ $b = $OLD ] && echo old || echo new); out=$(mktemp -d)
    ( cd $b && node dist/src/cli.js coordinator --workers $W --spawn --backend native --steps 800 --port 0 --no-metrics --sample-every 0 --log-format json --out $out >/dev/null 2>&1 )
    echo "{\"workers\":$W,\"round\":$round,\"build\":\"$name\",\"steadyImagesPerSecond\":$(steady $out)}" | tee -a $Q/final-spawn-pairs.jsonl
    rm -rf $out
  done; done
done
for round in 1 2; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  ( cd $b && BENCH_BACKEND=native BENCH_ROUNDS=2 node dist/scripts/benchTrain.js 2>$Q/final-bench-train-$name-$round.err ) | sed "s/^{/{\"build\":\"$name\",\"round\":$round,/" | tee -a $Q/final-bench-train.jsonl
done; done
