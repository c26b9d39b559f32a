#!/usr/bin/env bash
# npm start's training run (its command after the build), OLD (264e8b4) and NEW alternating, ROUNDS rounds: wall seconds.
set -uo pipefail
ROUNDS=$1; OUT=$(realpath $2)
for round in $(seq 1 $ROUNDS); do
  for build in old new; do
    [ $build = old ] && cd /work/wt/base || cd /work/main
    o=$(mktemp -d); t0=$(date +%s.%N)
    node dist/src/cli.js coordinator --workers 2 --spawn --steps 1200 --port 0 --lr 1.5e-3 --out $o > $o.log 2>&1; code=$?
    t1=$(date +%s.%N)
    echo "{\"round\":$round,\"build\":\"$build\",\"exit\":$code,\"seconds\":$(echo "$t1 - $t0" | bc),\"imagesPerSecond\":$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]+"/summary.json","utf8")).imagesPerSecond.toFixed(0))' $o)}" | tee -a $OUT
    rm -rf $o $o.log
  done
done
