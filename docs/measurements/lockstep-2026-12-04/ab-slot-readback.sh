#!/bin/bash
# usage: ab2.sh ROUNDS W  -> spawn runs alternating base (HEAD before) and new, steady from 100 of 1000
for r in $(seq 1 $1); do
for d in /work/wt/base /work/main; do
  cd $d; o=$(mktemp -d)
  node dist/src/cli.js coordinator --workers $2 --spawn --backend native --steps 1000 --port 0 --no-metrics --sample-every 0 --out $o --log-format json > $o.log 2>&1 || { echo "failed $o.log"; continue; }
  node -e '
const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);
const a=r.find(x=>x.step===100), b=r[r.length-1];
console.log(JSON.stringify({build:process.argv[2],workers:+process.argv[3],steady:Math.round((b.images-a.images)/(b.seconds-a.seconds))}))' $o $(basename $d) $2
  rm -rf $o $o.log
done; done
