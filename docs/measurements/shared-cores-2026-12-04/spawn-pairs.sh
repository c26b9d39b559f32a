#!/usr/bin/env bash
# The product path in quick alternation, to see past this VM's drift: `trainer coordinator --workers W --spawn
# --backend native` (MLP, batch 64, 800 steps, no metrics or samples), steady images/s from step 100 to the end
# (steps.jsonl), OLD = 8806cdc and NEW = 772b413 alternating, 6 pairs for 2 workers and 3 for 1 worker.
set -uo pipefail
NEW=/work/main; OLD=/work/wt/base; Q=$NEW/docs/measurements/shared-cores-2026-12-04
steady() { node -e 'const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);const a=r.find(x=>x.step===100),b=r[r.length-1];console.log(((b.images-a.images)/(b.seconds-a.seconds)).toFixed(0))' "$1"; }
for W in 2 1; do
  pairs=$([ $W = 2 ] && echo 6 || echo 3)
  for round in $(seq 1 $pairs); do for b in $OLD $NEW; do
    name=$([ $b = $OLD ] && echo old || echo new); out=$(mktemp -d)
    ( cd $b && node dist/src/cli.js coordinator --workers $W --spawn --backend native --steps 800 --port 0 --no-metrics --sample-every 0 --log-format json --out $out >/dev/null 2>&1 )
    echo "{\"workers\":$W,\"round\":$round,\"build\":\"$name\",\"steadyImagesPerSecond\":$(steady $out)}" | tee -a $Q/spawn-pairs.jsonl
    rm -rf $out
  done; done
done
