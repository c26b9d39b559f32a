#!/usr/bin/env bash
# The ceiling without any communication: the worker's bare loop (benchTrain.js bare: replica + trainStep, no
# coordinator, sockets or all-reduce) alone, and two of them at once on the 2 cores, with V8's defaults and with
# --single-threaded; 1500 steps, steady from step 500, rounds interleaved. Build: NEW (772b413).
set -uo pipefail
cd /work/main; Q=docs/measurements/shared-cores-2026-12-04
export BENCH_BACKEND=native BENCH_STEPS=1500 BENCH_WARMUP=500
for round in 1 2 3; do
  for flags in "" "--single-threaded"; do
    one=$(node $flags dist/scripts/benchTrain.js bare)
    echo "{\"round\":$round,\"flags\":\"$flags\",\"loops\":1,\"r\":[$one]}" | tee -a $Q/bare-pairs.jsonl
    a=$(mktemp); b=$(mktemp)
    node $flags dist/scripts/benchTrain.js bare > $a & node $flags dist/scripts/benchTrain.js bare > $b; wait
    echo "{\"round\":$round,\"flags\":\"$flags\",\"loops\":2,\"r\":[$(cat $a),$(cat $b)]}" | tee -a $Q/bare-pairs.jsonl
    rm -f $a $b
  done
done
