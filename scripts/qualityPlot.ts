// FID against images seen for the quality runs side by side: trainer runs (their summary.json
// evaluation history) and the PyTorch twin (scripts/peerTrain.py's samples scored with
// `trainer evaluate --images`, one JSON line per evaluation: {images, fid, fidLogits, ...}).
//   node dist/scripts/qualityPlot.js OUT.svg NAME=RUN_DIR|NAME=peer:HISTORY.jsonl ...
// Prints one JSON line: every series' points and, at the last common image count, each run's FID
// and its ratio to the PyTorch run's.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderLineChart, type LineSeries } from '../src/shared/plots/lineChart.js';

interface Point { images: number; fid: number; fidLogits: number }

function readSeries(spec: string): { name: string; points: Point[] } {
  const eq = spec.indexOf('=');
  if (eq < 1) throw new Error(`${spec}: expected NAME=RUN_DIR or NAME=peer:HISTORY.jsonl`);
  const name = spec.slice(0, eq);
  const where = spec.slice(eq + 1);
  if (where.startsWith('peer:')) {
    const points = readFileSync(where.slice(5), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Point);
    return { name, points: points.sort((a, b) => a.images - b.images) };
  }
  const s = JSON.parse(readFileSync(path.join(where, 'summary.json'), 'utf8')) as { globalBatchSize: number; evaluation?: { history: Array<{ step: number; fid: number; fidLogits: number }> } };
  if (!s.evaluation) throw new Error(`${where}: no evaluation history (run with --eval-every)`);
  return { name, points: s.evaluation.history.map((h) => ({ images: h.step * s.globalBatchSize, fid: h.fid, fidLogits: h.fidLogits })) };
}

const [out, ...specs] = process.argv.slice(2);
if (!out || specs.length === 0) {
  console.error('usage: qualityPlot.js OUT.svg NAME=RUN_DIR|NAME=peer:HISTORY.jsonl ...');
  process.exit(2);
}
const runs = specs.map(readSeries);
const series: LineSeries[] = runs.map((r) => ({ name: r.name, points: r.points.map((p) => [p.images, p.fid] as const) }));
writeFileSync(out, await renderLineChart({ title: 'MNIST-FID against images seen', xTitle: 'images seen', yTitle: 'MNIST-FID (log scale)', yLog: true, points: true, series }));
const common = Math.min(...runs.map((r) => Math.max(...r.points.map((p) => p.images))));
const at = runs.map((r) => ({ name: r.name, fid: r.points.filter((p) => p.images <= common).at(-1)?.fid }));
const peer = runs.findIndex((_, i) => specs[i]!.includes('=peer:'));
console.log(JSON.stringify({
  plot: out,
  commonImages: common,
  atCommonImages: at.map((a) => ({ ...a, ...(peer >= 0 && a.fid !== undefined && at[peer]!.fid !== undefined ? { vsPytorch: a.fid / at[peer]!.fid! } : {}) })),
  series: runs,
}));
