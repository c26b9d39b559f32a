#!/usr/bin/env bash
# Third batch (quiet, new build): where a 1- and a 2-worker MLP step goes (each worker's medians and the timeline's
# means per step), and which threads use the two cores during a 2-worker run (threads.sh: CPU ticks per thread over 8 s).
set -uo pipefail
NEW=/work/main; Q=$NEW/docs/measurements/quiet-2026-12-03
cd $NEW
timing() { grep -h '"training finished"' "$1" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const l of s.trim().split('\n')){const j=JSON.parse(l.slice(l.indexOf('{')));console.log(JSON.stringify(j.timing))}})"; }
echo "== 1 and 2 workers, MLP, 1200 steps, with --timeline: each worker's medians, then the timeline's mean per step"; date
for w in 1 2; do
  rm -rf /tmp/q-$w
  node dist/src/cli.js coordinator --workers $w --spawn --steps 1200 --port 0 --no-metrics --sample-every 0 --out /tmp/q-$w --timeline /tmp/q-$w/trace.json --log-format json > /tmp/q-$w.log 2>&1
  echo "{\"workers\":$w}"; timing /tmp/q-$w.log
  node -e "
    const ev = JSON.parse(require('fs').readFileSync('/tmp/q-$w/trace.json', 'utf8'));
    const xs = (ev.traceEvents ?? ev).filter((e) => e.ph === 'X');
    for (const tid of [...new Set(xs.map((e) => e.tid))]) {
      const es = xs.filter((e) => e.tid === tid).sort((a, b) => a.ts - b.ts);
      const kept = es.slice(Math.floor(es.length / 5)); // the first fifth is start-up
      const wall = (kept.at(-1).ts + kept.at(-1).dur - kept[0].ts) / 1000;
      const steps = kept.filter((e) => e.name === 'apply G').length;
      const per = {}; for (const e of kept) per[e.name] = (per[e.name] ?? 0) + e.dur / 1000 / steps;
      const busy = Object.values(per).reduce((a, b) => a + b, 0);
      console.log(JSON.stringify({ workers: $w, rank: tid, steps, msPerStep: wall / steps, ...Object.fromEntries(Object.entries(per).map(([k, v]) => [k, +v.toFixed(3)])), outsideSpans: +(wall / steps - busy).toFixed(3) }));
    }"
done | tee $Q/workers-1-2-timing.jsonl
echo "== threads of a 2-worker run (CPU ticks of 10 ms over 8 s, steps 300 on)"; date
node dist/src/cli.js coordinator --workers 2 --spawn --steps 3000 --port 0 --no-metrics --sample-every 0 --out /tmp/q-threads > /tmp/q-threads.log 2>&1 & run=$!
sleep 12; bash $Q/threads.sh 8 | tee $Q/threads-2-workers.txt; wait $run
date; echo done
