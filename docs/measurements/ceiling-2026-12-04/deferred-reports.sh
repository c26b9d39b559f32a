#!/usr/bin/env bash
# A probe, not kept: the worker patched (at bd66f11) to hold its step reports and send them every 4th step (and at a hash, a state or the last step) when PROBE_DEFER is set; 2 workers by hand with --prefetch 8 so that batches never wait on a held report. Steps 100 and 800 are multiples of 4, so the steady rate is timed on reports sent at once.
# PROBE: 2 workers by hand (ST flags), --prefetch 8, reports every step vs deferred to every 4th; 800 steps
cd /work/main; P=48100
steady() { node -e '
const r=require("fs").readFileSync(process.argv[1]+"/steps.jsonl","utf8").trim().split("\n").map(JSON.parse);
const a=r.find(x=>x.step===100), b=r[r.length-1];
process.stdout.write(String(Math.round((b.images-a.images)/(b.seconds-a.seconds))))' $1; }
run() { local o=$(mktemp -d); P=$((P+1))
  node dist/src/cli.js coordinator --workers 2 --port $P --steps 800 --prefetch 8 --no-metrics --sample-every 0 --out $o --log-format json > $o.c.log 2>&1 &
  local c=$!; sleep 0.5
  for i in 1 2; do node --single-threaded --max-semi-space-size=64 dist/src/cli.js worker --coordinator tcp://127.0.0.1:$P --advertise 127.0.0.1 --bind-host 127.0.0.1 --no-metrics --log-format json > $o.w$i.log 2>&1 & done
  wait $c; local code=$?; wait; [ $code = 0 ] && steady $o || echo "fail $o"; }
for round in 1 2 3 4; do echo "{\"round\":$round,\"everyStep\":$(run),\"every4\":$(PROBE_DEFER=1 run)}"; done
