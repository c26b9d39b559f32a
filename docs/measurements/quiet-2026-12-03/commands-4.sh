#!/usr/bin/env bash
# Fourth batch (quiet, new build): the DCGAN with 1 and 2 workers, 150 steps: each worker's medians.
set -uo pipefail
NEW=/work/main; Q=$NEW/docs/measurements/quiet-2026-12-03
cd $NEW
timing() { grep -h '"training finished"' "$1" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const l of s.trim().split('\n')){const j=JSON.parse(l.slice(l.indexOf('{')));console.log(JSON.stringify(j.timing))}})"; }
date
for w in 1 2; do
  node dist/src/cli.js coordinator --workers $w --spawn --arch dcgan --steps 150 --port 0 --no-metrics --sample-every 0 --eval-every 0 --out /tmp/qd-$w --log-format json > /tmp/qd-$w.log 2>&1
  echo "{\"arch\":\"dcgan\",\"workers\":$w}"; timing /tmp/qd-$w.log
done | tee $Q/dcgan-workers-1-2-timing.jsonl
date; echo done
