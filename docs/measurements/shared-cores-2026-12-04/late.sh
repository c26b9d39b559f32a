#!/usr/bin/env bash
# Later, with the VM quieter (2-worker runs by hand at 9,000+ img/s): bench:train once more, OLD (8806cdc)
# and FINAL (a4dcf30) interleaved, 3 rounds inside each (the bench's default).
set -uo pipefail
NEW=/work/main; OLD=/work/wt/base; Q=$NEW/docs/measurements/shared-cores-2026-12-04
for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  ( cd $b && BENCH_BACKEND=native node dist/scripts/benchTrain.js 2>$Q/late-bench-train-$name.err ) | sed "s/^{/{\"build\":\"$name\",/" | tee -a $Q/late-bench-train.jsonl
done
