// Summarizes a --timeline trace of a 2-worker run: per rank, each span's mean per step (steps 100 on), "gap" (the
// step's time outside the spans: noise, commit, report), then each span's median and its mean excess over the median.
const ev = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const xs = (ev.traceEvents ?? ev).filter((e) => e.ph === 'X');
const short = {
  'forward/backward D': 'fbD', 'reduce-scatter D': 'arD', 'all-gather D': 'agD', 'all-reduce D': 'arD', 'apply D': 'apD',
  'forward/backward G': 'fbG', 'reduce-scatter G': 'arG', 'all-gather G': 'agG', 'all-reduce G': 'arG', 'apply G': 'apG', 'data wait': 'dw',
};
const per = {};
for (const e of xs) {
  const r = ((per[e.tid] ??= {})[e.args.step] ??= { t0: Infinity });
  const k = short[e.name];
  r[k] = (r[k] ?? 0) + e.dur / 1000;
  if (e.name !== 'data wait') r.t0 = Math.min(r.t0, e.ts / 1000);
}
const tids = Object.keys(per);
const keys = ['fbD', 'arD', 'agD', 'apD', 'fbG', 'arG', 'agG', 'apG'];
const steps = Object.keys(per[tids[0]]).map(Number).filter((s) => s >= 100 && per[tids[0]][s + 1]);
const rows = steps.map((s) => Object.fromEntries(tids.map((t) => {
  const r = per[t][s];
  r.wall = per[t][s + 1].t0 - r.t0;
  r.gap = r.wall - keys.reduce((a, k) => a + (r[k] ?? 0), 0);
  return [t, r];
})));
const all = [...keys, 'gap', 'dw'];
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
for (const t of tids) {
  const mean = (k) => rows.reduce((a, r) => a + (r[t][k] ?? 0), 0) / rows.length;
  console.log(`rank ${t}: step ${mean('wall').toFixed(2)} ms (median ${median(rows.map((r) => r[t].wall)).toFixed(2)}); means: ${all.map((k) => `${k} ${mean(k).toFixed(2)}`).join(' ')}`);
  console.log(`rank ${t}: medians and mean excess over them: ${all.map((k) => { const v = rows.map((r) => r[t][k] ?? 0); const m = median(v); return `${k} ${m.toFixed(2)}+${(v.reduce((a, x) => a + Math.max(0, x - m), 0) / v.length).toFixed(2)}`; }).join(' ')}`);
}
