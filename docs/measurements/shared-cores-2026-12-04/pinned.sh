#!/bin/bash
# Each worker pinned to its own core (taskset) against the scheduler's choice: 2 workers by hand,
# --single-threaded, 1500 steps, steady from 100, rounds interleaved. Build 133d6e3.
Q=$(dirname $0); R=$Q/pinned.jsonl
steady() { node -e 'const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);const a=r.find(x=>x.step===100),b=r[r.length-1];console.log(((b.images-a.images)/(b.seconds-a.seconds)).toFixed(0))' "$1"; }
cd /work/main
for round in 1 2 3; do
  for pin in no yes; do
    out=/tmp/ab/p-$pin-$round; rm -rf $out
    node dist/src/cli.js coordinator --workers 2 --port 47600 --steps 1500 --no-metrics --sample-every 0 --out $out --log-format json > $out.coord.log 2>&1 &
    sleep 1
    for i in 0 1; do
      pre=$([ $pin = yes ] && echo "taskset -c $i" || echo "")
      $pre node --single-threaded dist/src/cli.js worker --coordinator tcp://127.0.0.1:47600 --advertise 127.0.0.1 --bind-host 127.0.0.1 --no-metrics --log-format json > $out.w$i.log 2>&1 &
    done
    wait
    echo "{\"round\":$round,\"pinned\":\"$pin\",\"steadyImagesPerSecond\":$(steady $out)}" | tee -a $R
  done
done
