// CheckpointStore.write (encode, write, fsync) of a 35 MB checkpoint (four arrays of 1.49M, 1.46M,
// 2.98M and 2.92M floats: larger than the MLP's real 15.4 MB files), OLD (8806cdc: three joined copies) against NEW
// (772b413: the parts written as they are), 10 each, alternating; ms of wall time.
// Run from the repository root: node docs/measurements/shared-cores-2026-12-04/checkpointWrite.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckpointStore as NewStore } from '/work/main/dist/src/coordinator/checkpointStore.js';
import { CheckpointStore as OldStore } from '/work/wt/base/dist/src/coordinator/checkpointStore.js';
import { trainConfig } from '/work/main/dist/test/fixtures/trainConfig.js';
const g = 1_488_656, d = 1_460_225;
const fill = (n) => new Float32Array(n).map((_, i) => Math.sin(i));
const c = { step: 500, config: trainConfig({ steps: 2000, stepsPerEpoch: 468 }), weights: { generator: fill(g), discriminator: fill(d) }, optimizer: { generator: fill(2 * g + 2), discriminator: fill(2 * d + 2) } };
const dir = mkdtempSync(path.join(os.tmpdir(), 'ckpt-bench-'));
const times = { old: [], new: [] };
for (let i = 0; i < 10; i++) {
  for (const [name, Store] of [['old', OldStore], ['new', NewStore]]) {
    const t = performance.now();
    const { bytes } = new Store(path.join(dir, name), 2).write({ ...c, step: 500 * (i + 1) });
    times[name].push(performance.now() - t);
    if (i === 0) process.stderr.write(`${name}: ${bytes} bytes\n`);
  }
}
rmSync(dir, { recursive: true, force: true });
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(JSON.stringify({ bench: 'checkpointWrite', oldMs: times.old.map((x) => +x.toFixed(1)), newMs: times.new.map((x) => +x.toFixed(1)), medianOldMs: +med(times.old).toFixed(1), medianNewMs: +med(times.new).toFixed(1) }));
