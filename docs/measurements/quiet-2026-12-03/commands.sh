#!/usr/bin/env bash
# Quiet measurements of 2026-12-03 (nothing else running on the 2-core VM), old and new builds interleaved.
# OLD: ab8864d (the last stop's final commit), built in a worktree; NEW: this stop's build (/work/main).
# Raw outputs beside this file; every figure in docs/performance.md's "The second core was the garbage collector's" comes from here.
set -uo pipefail
NEW=/work/main; OLD=/work/wt/old; Q=$NEW/docs/measurements/quiet-2026-12-03
steady() { grep -o '"steadyImagesPerSecond":[0-9.]*' "$1" | cut -d: -f2; }
echo "== one bare loop (the worker's step alone), unpinned and pinned to one core; then two at once"; date
for round in 1 2; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  ( cd $b && BENCH_BACKEND=native BENCH_STEPS=400 node dist/scripts/benchTrain.js bare > $Q/bare-$name-alone-$round.json 2>/dev/null )
  ( cd $b && BENCH_BACKEND=native BENCH_STEPS=400 taskset -c 1 node dist/scripts/benchTrain.js bare > $Q/bare-$name-pinned-$round.json 2>/dev/null )
  ( cd $b && BENCH_BACKEND=native BENCH_STEPS=400 node dist/scripts/benchTrain.js bare > $Q/bare-$name-pair-a-$round.json 2>/dev/null ) & pair=$!
  ( cd $b && BENCH_BACKEND=native BENCH_STEPS=400 node dist/scripts/benchTrain.js bare > $Q/bare-$name-pair-b-$round.json 2>/dev/null ); wait $pair
  echo "{\"build\":\"$name\",\"round\":$round,\"alone\":$(steady $Q/bare-$name-alone-$round.json),\"pinned\":$(steady $Q/bare-$name-pinned-$round.json),\"pair\":[$(steady $Q/bare-$name-pair-a-$round.json),$(steady $Q/bare-$name-pair-b-$round.json)]}" | tee -a $Q/bare.jsonl
done; done
echo "== bench:train (MLP, native), old and new interleaved"; date
for round in 1 2; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  ( cd $b && BENCH_BACKEND=native BENCH_ROUNDS=2 node dist/scripts/benchTrain.js 2>>$Q/bench-train.err ) | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);j.build='$name';console.log(JSON.stringify(j))})" | tee -a $Q/bench-train.jsonl
done; done
echo "== npm start's run (build excluded), old then new, twice"; date
for round in 1 2; do for b in $OLD $NEW; do
  name=$([ $b = $OLD ] && echo old || echo new)
  s=$(date +%s.%N)
  ( cd $b && node dist/src/cli.js coordinator --workers 2 --spawn --steps 1200 --port 0 --lr 1.5e-3 --out /tmp/npmstart-$name > /tmp/npmstart-$name.log 2>&1 ); rc=$?
  e=$(date +%s.%N)
  echo "{\"bench\":\"npm start's run\",\"build\":\"$name\",\"round\":$round,\"exit\":$rc,\"seconds\":$(echo "$e - $s" | bc)}" | tee -a $Q/npm-start-old-new.jsonl
done; done
date; echo done
