#!/usr/bin/env bash
# The final build of this stop (every rank on the one-barrier protocol, args.c's parts reader) against OLD once more, interleaved.
set -uo pipefail
NEW=/work/main; OLD=/work/wt/base; Q=$NEW/docs/measurements/apply-2026-12-03
for round in 1 2; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo final)
  ( cd $b && BENCH_BACKEND=native BENCH_ROUNDS=1 node dist/scripts/benchTrain.js 2>/dev/null ) | sed "s/^{/{\"build\":\"$name\",\"round\":$round,/" | tee -a $Q/bench-train-final.jsonl
done; done
