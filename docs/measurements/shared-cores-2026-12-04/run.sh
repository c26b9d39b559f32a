#!/bin/bash
# usage: run.sh DIR W STEPS PORT OUT [worker node flags...]  -> steady img/s from step 100
D=$1; W=$2; N=$3; P=$4; OUT=$5; shift 5
cd $D; rm -rf $OUT
nice -n ${CNICE:-0} node $CFLAGS dist/src/cli.js coordinator --workers $W --port $P --steps $N --no-metrics --sample-every 0 --out $OUT --log-format json > $OUT.coord.log 2>&1 &
C=$!
sleep 1
for i in $(seq 1 $W); do node "$@" dist/src/cli.js worker --coordinator tcp://127.0.0.1:$P --advertise 127.0.0.1 --bind-host 127.0.0.1 --no-metrics --log-format json > $OUT.w$i.log 2>&1 & done
wait $C; wait
node -e '
const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);
const a=r.find(x=>x.step===100), b=r[r.length-1];
console.log(JSON.stringify({out:process.argv[1], steps:b.step, steady:((b.images-a.images)/(b.seconds-a.seconds)).toFixed(0)}))' $OUT
