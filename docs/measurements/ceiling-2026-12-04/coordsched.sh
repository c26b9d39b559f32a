#!/usr/bin/env bash
# Does the coordinator's CPU time cost the 2 ranks? 2 workers started by hand (--single-threaded
# --max-semi-space-size=64, as --spawn gives them here), the coordinator as usual, under nice 19, or under
# SCHED_IDLE (chrt -i 0: it runs only on an idle core); --data coordinator and local; 1 worker as the baseline.
# 800 steps, steady from step 100, rounds interleaved. Usage: coordsched.sh ROUNDS OUT.jsonl
set -uo pipefail
ROUNDS=$1; OUT=$(realpath -m $2); cd /work/main; P=47800
run() { # W DATA PREFIX...
  local w=$1 data=$2; shift 2; local o=$(mktemp -d); P=$((P+1))
  "$@" node dist/src/cli.js coordinator --workers $w --port $P --steps 800 --no-metrics --sample-every 0 --data $data --out $o --log-format json > $o.c.log 2>&1 &
  local c=$!; sleep 0.5
  local flags=""; [ $w -gt 1 ] && flags="--single-threaded --max-semi-space-size=64"
  for i in $(seq 1 $w); do node $flags dist/src/cli.js worker --coordinator tcp://127.0.0.1:$P --advertise 127.0.0.1 --bind-host 127.0.0.1 --no-metrics --log-format json > $o.w$i.log 2>&1 & done
  wait $c; wait
  node -e '
const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);
const a=r.find(x=>x.step===100), b=r[r.length-1];
process.stdout.write(String(Math.round((b.images-a.images)/(b.seconds-a.seconds))))' $o
  rm -rf $o $o.*
}
for round in $(seq 1 $ROUNDS); do
  r="{\"round\":$round,\"one\":$(run 1 coordinator env)"
  r+=",\"two\":$(run 2 coordinator env),\"twoNice19\":$(run 2 coordinator nice -n 19),\"twoIdle\":$(run 2 coordinator chrt -i 0)"
  r+=",\"oneLocal\":$(run 1 local env),\"twoLocal\":$(run 2 local env),\"twoLocalIdle\":$(run 2 local chrt -i 0)}"
  echo "$r" | tee -a $OUT
done
