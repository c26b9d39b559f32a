#!/usr/bin/env bash
# Where a 2-worker MLP step goes, old (1657608, /work/wt/base) and new (f1eb4f7) back to back: 1500 steps with --timeline,
# each rank's mean per step over steps 100 on (timelineSteps.cjs: the spans, and "gap" = the step's time outside them),
# then each span's median and mean excess over it (the tails).
set -uo pipefail
NEW=/work/main; OLD=/work/wt/base; Q=$NEW/docs/measurements/apply-2026-12-03
for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  rm -rf /tmp/tl-$name
  ( cd $b && node dist/src/cli.js coordinator --workers 2 --spawn --steps 1500 --port 0 --no-metrics --sample-every 0 --out /tmp/tl-$name --timeline /tmp/tl-$name/trace.json --log-format json > /tmp/tl-$name.log 2>&1 )
  { echo "== $name: $(grep -o 'done: [^"]*' /tmp/tl-$name.log | cut -c1-60)"; node $Q/timelineSteps.cjs /tmp/tl-$name/trace.json; } | tee -a $Q/timeline-2-workers.txt
done
