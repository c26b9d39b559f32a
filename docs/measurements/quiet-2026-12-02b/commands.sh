#!/usr/bin/env bash
# Quiet measurements of 2026-12-02, second session (nothing else running on the 2-core VM), in the order they ran.
# NEW: this session's build (/work/main); OLD: the previous session's last commit c5e5d6d, built in a worktree.
# Raw outputs beside this file.
set -uo pipefail
NEW=/work/main; OLD=/work/wt/old; Q=$NEW/docs/measurements/quiet-2026-12-02b
cd $NEW
timing() { grep -h '"training finished"' "$1" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const l of s.trim().split('\n')){const j=JSON.parse(l.slice(l.indexOf('{')));console.log(JSON.stringify(j.timing))}})"; }
echo "== coordinator with 256 fake workers, --data local: old and new builds interleaved"; date
for r in 1 2; do for b in $OLD $NEW; do
  node $b/dist/scripts/benchCoordinatorScale.js --worlds 256 --data local 2>/dev/null | head -1 | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);j.build='$b';console.log(JSON.stringify(j))})" | tee -a $Q/scale-256-local-old-new.jsonl
done; done
echo "== bench:scale coordinator half, both data modes, new build"; date
node dist/scripts/benchCoordinatorScale.js --data local,coordinator --json $Q/bench-scale-coordinator.jsonl --svg $Q 2> $Q/scale.err | tail -3
echo "== zeromq.js floor: one go-ahead per step (before) and one per 4 steps (now)"; date
node dist/scripts/zmqFloor.js --workers 256 --steps-per-go 1 | tee -a $Q/zmqfloor.jsonl
node dist/scripts/zmqFloor.js --workers 256 | tee -a $Q/zmqfloor.jsonl
echo "== bench:train, native, steady state and whole run"; date
BENCH_BACKEND=native BENCH_ROUNDS=2 node dist/scripts/benchTrain.js 2> $Q/bench-train.err | tee $Q/bench-train.jsonl
echo "== two bare loops at once against one (what the 2 cores give two independent workers)"; date
BENCH_BACKEND=native node dist/scripts/benchTrain.js bare > $Q/bare-alone.json 2>/dev/null
BENCH_BACKEND=native node dist/scripts/benchTrain.js bare > $Q/bare-pair-a.json 2>/dev/null & pair=$!
BENCH_BACKEND=native node dist/scripts/benchTrain.js bare > $Q/bare-pair-b.json 2>/dev/null; wait $pair
cat $Q/bare-alone.json $Q/bare-pair-a.json $Q/bare-pair-b.json
echo "== 1 and 2 workers, MLP, 600 steps: each worker's medians"; date
for w in 1 2; do
  node dist/src/cli.js coordinator --workers $w --spawn --steps 600 --port 0 --no-metrics --sample-every 0 --out /tmp/q-$w --log-format json > /tmp/q-$w.log 2>&1
  echo "{\"workers\":$w}"; timing /tmp/q-$w.log
done | tee $Q/workers-1-2-timing.jsonl
echo "== npm start (with the generator average, the default) and the same with --ema-decay 0"; date
for mode in default ema0; do
  touch src/version.ts
  s=$(date +%s.%N)
  if [ $mode = default ]; then npm start -- --out /tmp/npmstart-$mode > /tmp/npmstart-$mode.log 2>&1; else npm run build >/dev/null 2>&1 && node dist/src/cli.js coordinator --workers 2 --spawn --steps 1200 --port 0 --lr 1.5e-3 --ema-decay 0 --out /tmp/npmstart-$mode > /tmp/npmstart-$mode.log 2>&1; fi
  rc=$?; e=$(date +%s.%N)
  echo "{\"bench\":\"npm start\",\"mode\":\"$mode\",\"exit\":$rc,\"seconds\":$(echo "$e - $s" | bc)}" | tee -a $Q/npm-start.jsonl
  timing /tmp/npmstart-$mode.log | tee -a $Q/npm-start-timing-$mode.jsonl
done
echo "== npm start's generators on 10,000 samples: the average and the last weights"; date
for mode in default ema0; do node dist/src/cli.js evaluate --model /tmp/npmstart-$mode/generator --json --log-format json > $Q/npm-start-evaluate-$mode.json 2>/dev/null; done
date; echo done
