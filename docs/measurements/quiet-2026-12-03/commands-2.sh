#!/usr/bin/env bash
# Second batch, right after commands.sh (quiet): more rounds of the bare loops (this VM's speed drifts by a fifth from
# minute to minute, so only pairs run close together compare), then the DCGAN's bench:train and bare loops (new build).
set -uo pipefail
NEW=/work/main; OLD=/work/wt/old; Q=$NEW/docs/measurements/quiet-2026-12-03
steady() { grep -o '"steadyImagesPerSecond":[0-9.]*' "$1" | cut -d: -f2; }
bare() { # bare BUILD NAME ARCH STEPS ROUND
  local b=$1 name=$2 arch=$3 steps=$4 round=$5 f=$Q/bare-$2-$3
  ( cd $b && BENCH_ARCH=$arch BENCH_BACKEND=native BENCH_STEPS=$steps node dist/scripts/benchTrain.js bare > $f-alone-$round.json 2>/dev/null )
  ( cd $b && BENCH_ARCH=$arch BENCH_BACKEND=native BENCH_STEPS=$steps taskset -c 1 node dist/scripts/benchTrain.js bare > $f-pinned-$round.json 2>/dev/null )
  ( cd $b && BENCH_ARCH=$arch BENCH_BACKEND=native BENCH_STEPS=$steps node dist/scripts/benchTrain.js bare > $f-pair-a-$round.json 2>/dev/null ) & local pair=$!
  ( cd $b && BENCH_ARCH=$arch BENCH_BACKEND=native BENCH_STEPS=$steps node dist/scripts/benchTrain.js bare > $f-pair-b-$round.json 2>/dev/null ); wait $pair
  echo "{\"build\":\"$name\",\"arch\":\"$arch\",\"round\":$round,\"alone\":$(steady $f-alone-$round.json),\"pinned\":$(steady $f-pinned-$round.json),\"pair\":[$(steady $f-pair-a-$round.json),$(steady $f-pair-b-$round.json)]}" | tee -a $Q/bare-2.jsonl
}
echo "== MLP bare loops, old and new interleaved, 4 more rounds"; date
for round in 1 2 3 4; do bare $OLD old mlp 400 $round; bare $NEW new mlp 400 $round; done
echo "== DCGAN bench:train, new build"; date
( cd $NEW && BENCH_ARCH=dcgan BENCH_BACKEND=native BENCH_ROUNDS=2 BENCH_STEPS=150 node dist/scripts/benchTrain.js 2>$Q/bench-train-dcgan.err ) | tee $Q/bench-train-dcgan.jsonl
echo "== DCGAN bare loops, new build, 2 rounds"; date
for round in 1 2; do bare $NEW new dcgan 80 $round; done
date; echo done
