#!/usr/bin/env bash
# Side by side, interleaved: OLD = 8806cdc (the last stop's final commit, a worktree at /work/wt/base with its own
# native build), NEW = 772b413 (spawned workers that fill the cores run node --single-threaded; checkpoints
# written as their parts). bench:train (MLP, native): the default 200 steps (steady from 20), 2 rounds inside
# each, two interleaved pairs; then 1500 steps (steady from 500, checkpoints at 500 and 1000 inside the window), one round inside each, two pairs.
set -uo pipefail
NEW=/work/main; OLD=/work/wt/base; Q=$NEW/docs/measurements/shared-cores-2026-12-04
for round in 1 2; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  ( cd $b && BENCH_BACKEND=native BENCH_ROUNDS=2 node dist/scripts/benchTrain.js 2>$Q/bench-train-$name-$round.err ) | sed "s/^{/{\"build\":\"$name\",\"round\":$round,/" | tee -a $Q/bench-train.jsonl
done; done
for round in 1 2; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  ( cd $b && BENCH_BACKEND=native BENCH_ROUNDS=1 BENCH_STEPS=1500 BENCH_WARMUP=500 node dist/scripts/benchTrain.js 2>$Q/bench-train-long-$name-$round.err ) | sed "s/^{/{\"build\":\"$name\",\"round\":$round,/" | tee -a $Q/bench-train-long.jsonl
done; done
