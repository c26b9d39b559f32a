#!/usr/bin/env bash
# The quiet measurements of 2026-12-02 13:47-13:56 UTC (nothing else running on the 2-core VM), in the order they ran; raw outputs beside this file.
# Quiet measurements at the end of the session (nothing else running). Writes under /tmp/quiet/.
set -uo pipefail
cd /work/main
Q=/tmp/quiet; mkdir -p $Q
timing() { grep -h '"training finished"' "$1" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const l of s.trim().split('\n')){const j=JSON.parse(l.slice(l.indexOf('{')));console.log(JSON.stringify(j.timing))}})"; }
echo "== npm start (ABAB: auto=shm, ring)"; date
for i in 1; do
  for mode in auto ring; do
    touch src/version.ts
    s=$(date +%s.%N)
    if [ $mode = auto ]; then npm start > $Q/npmstart-$mode-$i.log 2>&1; else npm run build >/dev/null 2>&1 && node dist/src/cli.js coordinator --workers 2 --spawn --steps 1200 --port 0 --lr 1.5e-3 --beta1 0 --allreduce ring > $Q/npmstart-$mode-$i.log 2>&1; fi
    rc=$?; e=$(date +%s.%N)
    echo "{\"bench\":\"npm start\",\"allreduce\":\"$mode\",\"run\":$i,\"exit\":$rc,\"seconds\":$(echo "$e - $s" | bc)}" | tee -a $Q/npm-start.jsonl
    timing $Q/npmstart-$mode-$i.log | tee -a $Q/npm-start-timing-$mode.jsonl
  done
done
echo "== bench:train shm vs ring"; date
for mode in shm ring; do BENCH_BACKEND=native BENCH_ROUNDS=2 BENCH_ALLREDUCE=$mode node dist/scripts/benchTrain.js 2> $Q/benchtrain-$mode.err | tee -a $Q/bench-train.jsonl; done
echo "== bench:allreduce"; date
BENCH_SIZES=2.035,2.135,16 BENCH_WORLDS=2,4 BENCH_ALGORITHMS=ring,ring+ipc,shm+msg,shm node dist/scripts/benchAllreduce.js 2> $Q/allreduce.err | tee $Q/bench-allreduce.json
echo "== N=4 ring / rhd / auto(links) / auto"; date
for i in 1; do for mode in ring rhd auto; do
  s=$(date +%s.%N)
  node dist/src/cli.js coordinator --workers 4 --spawn --allreduce $mode --steps 150 --batch-size 32 --limit 8192 --check-every 10 --port 0 --metrics-port 0 --out $Q/n4-$mode-$i --log-format json > $Q/n4-$mode-$i.log 2>&1
  rc=$?; e=$(date +%s.%N)
  node -e "const s=require('$Q/n4-$mode-$i/summary.json');console.log(JSON.stringify({mode:'$mode',run:$i,exit:$rc,seconds:$(echo "$e - $s" | bc),wallSeconds:s.wallSeconds,imagesPerSecond:s.imagesPerSecond,hash:s.replicaHash,final:s.final,allreduceChoice:s.allreduceChoice,sharedMemory:s.sharedMemory}))" | tee -a $Q/n4.jsonl
done; done
echo "== DCGAN 2 workers, 300 steps (recipe throughput)"; date
node dist/src/cli.js coordinator --workers 2 --spawn --arch dcgan --steps 300 --port 0 --metrics-port 0 --out $Q/dcgan-300 --log-format json > $Q/dcgan-300.log 2>&1
node -e "const s=require('$Q/dcgan-300/summary.json');console.log(JSON.stringify({bench:'dcgan 2w 300 steps',wallSeconds:s.wallSeconds,imagesPerSecond:s.imagesPerSecond}))" | tee $Q/dcgan-300.json
echo "== coordinator scale, local, 16/64/256"; date
node dist/scripts/benchCoordinatorScale.js --data local,coordinator --json $Q/bench-scale-coordinator-quiet.jsonl 2> $Q/scale.err | tee $Q/scale.out
date; echo done
# Then, also quiet:
node dist/scripts/zmqFloor.js --workers 256 > zmqfloor.json
touch src/version.ts; npm run build; node dist/src/cli.js coordinator --workers 2 --spawn --steps 1200 --port 0 --lr 1.5e-3 --beta1 0 --backend wasm   # npm start's command on wasm, timed without the build
