#!/usr/bin/env bash
# Does a rank that spins longer at a shared-memory barrier (instead of sleeping on the futex after ~46 µs) lose
# less to the other threads? Two addon builds, SPINS=2000 (the default: 2000 pauses of 23 ns) and SPINS=100000
# (~2.3 ms), swapped in alternately; `trainer coordinator --spawn --backend native`, 2 workers, 800 steps, steady from 100.
# Usage: spins.sh ROUNDS OUT.jsonl  (the builds at /tmp/spins/s2000.node and s100k.node)
set -uo pipefail
ROUNDS=$1; OUT=$(realpath $2); cd /work/main
ADDON=native/build/Release/trainer_native.node
steady() { node -e '
const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);
const a=r.find(x=>x.step===100), b=r[r.length-1];
process.stdout.write(String(Math.round((b.images-a.images)/(b.seconds-a.seconds))))' $1; }
dist() { local o=$(mktemp -d)
  node dist/src/cli.js coordinator --workers $1 --spawn --backend native --steps 800 --port 0 --no-metrics --sample-every 0 --out $o --log-format json > $o.log 2>&1 || { echo "run failed: $o.log" >&2; return 1; }
  steady $o; rm -rf $o $o.log; }
for round in $(seq 1 $ROUNDS); do
  for v in s2000 s100k; do cp /tmp/spins/$v.node $ADDON; echo "{\"round\":$round,\"spins\":\"$v\",\"two\":$(dist 2)}" | tee -a $OUT; done
done
cp /tmp/spins/s2000.node $ADDON
