#!/usr/bin/env bash
# OLD (264e8b4, tfjs-layers' phases on native) against NEW (the MLP's phases on the trainer's ops), alternating:
# the bare loop, `trainer coordinator --spawn --backend native` with 1 and 2 workers (800 steps, steady from step 100),
# ROUNDS rounds; then bench:train (BENCH_BACKEND=native, defaults) once per build. Usage: ab.sh ROUNDS OUT.jsonl
set -uo pipefail
ROUNDS=$1; OUT=$(realpath $2); OLD=/work/wt/base; NEW=/work/main
export BENCH_BACKEND=native
steady() { node -e '
const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);
const a=r.find(x=>x.step===100), b=r[r.length-1];
process.stdout.write(String(Math.round((b.images-a.images)/(b.seconds-a.seconds))))' $1; }
dist() { local o=$(mktemp -d)
  node dist/src/cli.js coordinator --workers $1 --spawn --backend native --steps 800 --port 0 --no-metrics --sample-every 0 --out $o --log-format json > $o.log 2>&1 || { echo "run failed: $o.log" >&2; return 1; }
  steady $o; rm -rf $o $o.log; }
bare() { BENCH_STEPS=800 BENCH_WARMUP=100 node dist/scripts/benchTrain.js bare | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(String(Math.round(JSON.parse(s).steadyImagesPerSecond))))'; }
for round in $(seq 1 $ROUNDS); do
  for build in old new; do
    [ $build = old ] && cd $OLD || cd $NEW
    echo "{\"round\":$round,\"build\":\"$build\",\"bare\":$(bare),\"one\":$(dist 1),\"two\":$(dist 2)}" | tee -a $OUT
  done
done
for build in old new; do
  [ $build = old ] && cd $OLD || cd $NEW
  echo "{\"build\":\"$build\",\"benchTrain\":$(node dist/scripts/benchTrain.js 2>/dev/null)}" | tee -a $OUT
done
