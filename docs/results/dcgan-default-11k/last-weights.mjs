// Writes the last (not averaged) generator of a run's final checkpoint as a model directory, for `trainer evaluate`.
import { readFileSync } from 'node:fs';
const D = process.env.TRAINER_DIST ?? new URL('../../../dist/', import.meta.url).href;
const { decodeCheckpoint } = await import(D + 'src/coordinator/checkpointFormat.js');
const { saveGenerator } = await import(D + 'src/coordinator/outputs.js');
const { selectBackend } = await import(D + 'src/shared/gan/backend.js');
const { tf } = await import(D + 'src/shared/gan/tf.js');
const { silentLogger } = await import(D + 'src/shared/logger.js');
const [file, out] = process.argv.slice(2);
await selectBackend('wasm', silentLogger);
const c = decodeCheckpoint(readFileSync(file));
await saveGenerator(tf, out, c.config, c.weights.generator);
console.log(JSON.stringify({ step: c.step, lr: c.config.lr, beta1: c.config.beta1, emaDecay: c.config.emaDecay }));
