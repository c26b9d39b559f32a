// Samples a saved generator with batch statistics (training-mode batch norm, batches of 125) and with its moving
// statistics, as float32 .npy files in [-1, 1] (2000 each, the same noise), for `trainer evaluate --images`.
// usage: node bn-probe.mjs GENERATOR_DIR OUT_PREFIX → OUT_PREFIX-moving.npy, OUT_PREFIX-batch.npy
import { writeFileSync } from 'node:fs';
const D = process.env.TRAINER_DIST ?? new URL('../../../dist/', import.meta.url).href;
const { selectBackend } = await import(D + 'src/shared/gan/backend.js');
const { tf } = await import(D + 'src/shared/gan/tf.js');
const { silentLogger } = await import(D + 'src/shared/logger.js');
const { loadModelDir } = await import(D + 'src/shared/gan/modelFiles.js');
const [dir, out] = process.argv.slice(2);
await selectBackend('wasm', silentLogger);
const g = await loadModelDir(tf, dir);
const npy = (arr, n) => {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, 28, 28), }`;
  const pad = 16 - ((10 + header.length + 1) % 16);
  const h = Buffer.from(header + ' '.repeat(pad) + '\n');
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 255, h.length >> 8]);
  return Buffer.concat([pre, h, Buffer.from(arr.buffer)]);
};
for (const training of [false, true]) {
  const parts = [];
  for (let i = 0; i < 2000 / 125; i++) {
    const z = tf.randomNormal([125, 100], 0, 1, 'float32', 1000 + i);
    const y = g.apply(z, { training });
    parts.push(y.dataSync().slice());
    tf.dispose([z, y]);
  }
  const all = new Float32Array(2000 * 784); parts.forEach((p, i) => all.set(p, i * 125 * 784));
  writeFileSync(`${out}-${training ? 'batch' : 'moving'}.npy`, npy(all, 2000));
}
