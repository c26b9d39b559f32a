/**
 * The results tables of docs/results.md, from what scripts/results.sh left in docs/results/<run>/:
 * MNIST-FID and digit coverage against steps and training time (summary.json's
 * evaluation history, 2000 samples each), and the final generator on 10,000 samples
 * with the calibration sets (evaluate.json). Prints Markdown.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../src/coordinator/summary.js';
import type { Evaluation, Scores } from '../src/evaluate/evaluate.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'results');
const runs = readdirSync(root).filter((d) => existsSync(path.join(root, d, 'summary.json'))).sort();
const f = (x: number, d = 1): string => x.toFixed(d);

console.log('| run | step | training time | MNIST-FID | FID (logits) | IS | digits ≥ 5% | confidence |');
console.log('|---|---|---|---|---|---|---|---|');
for (const run of runs) {
  const s = JSON.parse(readFileSync(path.join(root, run, 'summary.json'), 'utf8')) as Summary;
  for (const h of s.evaluation?.history ?? []) {
    console.log(`| ${run} | ${h.step} | ${f(h.trainSeconds, 0)} s | ${f(h.fid)} | ${f(h.fidLogits)} | ${f(h.inceptionScore, 2)} | ${h.digitsAtLeast5Percent} | ${f(h.meanConfidence, 3)} |`);
  }
}
console.log('');
console.log('| run (final generator, 10,000 samples) | MNIST-FID | FID (logits) | IS | digits ≥ 5% | smallest / largest digit share | KL from uniform | confidence |');
console.log('|---|---|---|---|---|---|---|---|');
const row = (name: string, s: Scores): string => {
  const shares = s.coverage.fractions;
  return `| ${name} | ${f(s.fid)} | ${f(s.fidLogits)} | ${f(s.inceptionScore, 2)} | ${s.coverage.digitsAtLeast5Percent} | ${f(100 * Math.min(...shares))}% / ${f(100 * Math.max(...shares))}% | ${f(s.coverage.klFromUniform, 3)} | ${f(s.coverage.meanConfidence, 3)} |`;
};
const evaluations = runs.flatMap((run) => {
  const file = path.join(root, run, 'evaluate.json');
  return existsSync(file) ? [{ run, e: JSON.parse(readFileSync(file, 'utf8')) as Evaluation }] : [];
});
for (const { run, e } of evaluations) console.log(row(run, e.generated));
// Calibration: an untrained generator per architecture, and real training images (the same for every run).
for (const arch of new Set(evaluations.map(({ e }) => e.arch))) console.log(row(`untrained ${arch} (ceiling)`, evaluations.find(({ e }) => e.arch === arch)!.e.untrained));
if (evaluations[0]) console.log(row('real training images (floor)', evaluations[0].e.realTraining));
