#!/usr/bin/env bash
# Where 2 workers lose against 1 on this 2-core host, side by side, rounds interleaved:
# the bare loop (benchTrain.js bare: replica + trainStep, no coordinator or sockets) alone and two at once
# (V8 defaults, --single-threaded), and `trainer coordinator --spawn` with 1 and 2 workers, with the
# default --data coordinator and with --data local. 800 steps, steady from step 100. Usage: matrix.sh ROUNDS OUT.jsonl [build dir]
set -uo pipefail
ROUNDS=$1; OUT=$(realpath -m $2); D=${3:-/work/main}
cd $D
export BENCH_BACKEND=native BENCH_STEPS=800 BENCH_WARMUP=100
steady() { node -e '
const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);
const a=r.find(x=>x.step===100), b=r[r.length-1];
process.stdout.write(String(Math.round((b.images-a.images)/(b.seconds-a.seconds))))' $1; }
dist() { # W DATA
  local o=$(mktemp -d)
  node dist/src/cli.js coordinator --workers $1 --spawn --backend native --steps 800 --port 0 --no-metrics --sample-every 0 --data $2 --out $o --log-format json > $o.log 2>&1 || { echo "run failed: $o.log" >&2; return 1; }
  steady $o; rm -rf $o $o.log
}
bare() { node "$@" dist/scripts/benchTrain.js bare | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(String(Math.round(JSON.parse(s).steadyImagesPerSecond))))'; }
pair() { local a=$(mktemp) b=$(mktemp); bare "$@" > $a & bare "$@" > $b; wait; echo "$(cat $a)+$(cat $b)"; rm -f $a $b; }
for round in $(seq 1 $ROUNDS); do
  r="{\"round\":$round"
  r+=",\"bare1\":$(bare)"
  r+=",\"bare2\":[$(pair | tr + ,)]"
  r+=",\"bare2ST\":[$(pair --single-threaded | tr + ,)]"
  r+=",\"dist1\":$(dist 1 coordinator)"
  r+=",\"dist2\":$(dist 2 coordinator)"
  r+=",\"dist2local\":$(dist 2 local)"
  r+=",\"dist1local\":$(dist 1 local)}"
  echo "$r" | tee -a $OUT
done
