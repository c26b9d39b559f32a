#!/usr/bin/env bash
# With the fused ops (less garbage), do workers that fill the cores still gain from --single-threaded --max-semi-space-size=64?
# 2 workers by hand, those flags against V8's defaults, alternating; 800 steps, steady from step 100. Usage: flags.sh ROUNDS OUT.jsonl
set -uo pipefail
ROUNDS=$1; OUT=$(realpath -m $2); cd /work/main; P=48200
steady() { node -e '
const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);
const a=r.find(x=>x.step===100), b=r[r.length-1];
process.stdout.write(String(Math.round((b.images-a.images)/(b.seconds-a.seconds))))' $1; }
run() { local o=$(mktemp -d); P=$((P+1))
  node dist/src/cli.js coordinator --workers 2 --port $P --steps 800 --no-metrics --sample-every 0 --out $o --log-format json > $o.c.log 2>&1 &
  local c=$!; sleep 0.5
  for i in 1 2; do node "$@" dist/src/cli.js worker --coordinator tcp://127.0.0.1:$P --advertise 127.0.0.1 --bind-host 127.0.0.1 --no-metrics --log-format json > $o.w$i.log 2>&1 & done
  wait $c; local code=$?; wait; [ $code = 0 ] && steady $o || echo "\"fail $o\""; rm -rf $o $o.*; }
for round in $(seq 1 $ROUNDS); do
  echo "{\"round\":$round,\"sharedCoreFlags\":$(run --single-threaded --max-semi-space-size=64),\"defaults\":$(run)}" | tee -a $OUT
done
