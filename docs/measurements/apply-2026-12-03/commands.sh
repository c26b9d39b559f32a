#!/usr/bin/env bash
# Side by side, interleaved: OLD = 1657608 (the last stop's final commit, a worktree at /work/wt/base with its own
# native build), NEW = f1eb4f7 (Adam over the variables from the averaged parts; one barrier per shared-memory all-reduce).
# bench:train (MLP, native), 2 rounds of 2 inside each; then the bare loop (the worker's step alone), 3 rounds.
set -uo pipefail
NEW=/work/main; OLD=/work/wt/base; Q=$NEW/docs/measurements/apply-2026-12-03
for round in 1 2; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  ( cd $b && BENCH_BACKEND=native BENCH_ROUNDS=2 node dist/scripts/benchTrain.js 2>$Q/bench-train-$name-$round.err ) | sed "s/^{/{\"build\":\"$name\",\"round\":$round,/" | tee -a $Q/bench-train.jsonl
done; done
for round in 1 2 3; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  ( cd $b && BENCH_BACKEND=native BENCH_STEPS=600 node dist/scripts/benchTrain.js bare 2>/dev/null ) | sed "s/^{/{\"build\":\"$name\",\"round\":$round,/" | tee -a $Q/bare.jsonl
done; done
# Then the new build over longer runs (1500 steps, the steady state counted from step 500, after the JIT has mostly settled).
( cd $NEW && BENCH_BACKEND=native BENCH_ROUNDS=2 BENCH_STEPS=1500 BENCH_WARMUP=500 node dist/scripts/benchTrain.js 2>$Q/bench-train-long.err ) | tee $Q/bench-train-long.jsonl
