// Post-hoc weight averages of one run from its checkpoints (the raw generator state every N steps).
// usage: node posthocEma.mjs RUN_DIR OUT_DIR C:DECAY...  → OUT_DIR/c<C>-d<DECAY>/ generator dirs.
// Per step the average keeps min(DECAY, (1 + s) / (C + s)); the trainer's is C = 10 (TensorFlow's num_updates warm-up).
// Between two snapshots g steps apart it keeps the product over those steps, and moves toward the later snapshot.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
const D = process.env.TRAINER_DIST ?? new URL('../../../dist/', import.meta.url).href;
const { decodeCheckpoint } = await import(D + 'src/coordinator/checkpointFormat.js');
const { saveGenerator } = await import(D + 'src/coordinator/outputs.js');
const { selectBackend } = await import(D + 'src/shared/gan/backend.js');
const { tf } = await import(D + 'src/shared/gan/tf.js');
const { silentLogger } = await import(D + 'src/shared/logger.js');
const [run, out, ...variants] = process.argv.slice(2);
const params = variants.map((v) => v.split(':').map(Number));
await selectBackend('wasm', silentLogger);
const dir = path.join(run, 'checkpoints');
const files = readdirSync(dir).filter((f) => /^ckpt-\d+\.bin$/.test(f)).sort();
const avgs = params.map(() => undefined);
let prevStep = 0, config;
for (const f of files) {
  const c = decodeCheckpoint(readFileSync(path.join(dir, f)));
  const w = c.weights.generator;
  params.forEach(([C, d], i) => {
    if (avgs[i] === undefined) { avgs[i] = Float64Array.from(w); return; }
    let keep = 1;
    for (let s = prevStep + 1; s <= c.step; s++) keep *= Math.min(d, (1 + s) / (C + s));
    const a = avgs[i];
    for (let j = 0; j < a.length; j++) a[j] += (w[j] - a[j]) * (1 - keep);
  });
  prevStep = c.step; config = c.config;
}
for (const [i, v] of variants.entries()) {
  const [C, d] = params[i];
  await saveGenerator(tf, path.join(out, `c${C}-d${d}`), config, Float32Array.from(avgs[i]));
}
console.log(JSON.stringify({ snapshots: files.length, lastStep: prevStep, variants }));
