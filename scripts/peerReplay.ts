/**
 * The trainer's side of a replay against PyTorch (scripts/peerReplay.py): STEPS steps of a 1-worker
 * run (trainStep with the one-rank identity reduce, the coordinator's MNIST batches and noise for SEED),
 * with everything PyTorch needs to take the same steps from the same weights written to OUT:
 *   meta.json                      arch, batch, steps, seed, backend, both models' parameter layouts
 *   g0.f32 d0.f32                  the initial states (paramShapes order, tfjs layouts)
 *   images.u8 zd.f32 zg.f32        every step's real batch and both noise draws, step after step
 *   grads-d.f32 grads-g.f32        step 1's reduce buffers (gradients, then every moving statistic)
 *   d1.f32                         the discriminator after step 1's update
 *   losses.jsonl                   every step's losses
 *   g.f32 d.f32                    the states after STEPS steps
 *   g-<images seen>.f32            with EVAL_EVERY, the generator every EVAL_EVERY steps (for its FID history)
 *
 *   node dist/scripts/peerReplay.js ARCH BACKEND BATCH STEPS OUT [SEED=42] [EVAL_EVERY=0]
 */
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHS, type Arch, BACKENDS, type BackendName } from '../src/shared/config.js';
import { DataFeeder } from '../src/shared/data/dataFeeder.js';
import { loadTrainingSet } from '../src/shared/data/dataset.js';
import { NoiseStream, latentNoise } from '../src/shared/data/noise.js';
import { initialWeights, paramShapes } from '../src/shared/gan/architecture.js';
import { archSpecs } from '../src/shared/gan/archs.js';
import { selectBackend } from '../src/shared/gan/backend.js';
import { GanReplica } from '../src/shared/gan/replica.js';
import { tf } from '../src/shared/gan/tf.js';
import { type Reduce, trainStep } from '../src/shared/gan/trainStep.js';
import { silentLogger } from '../src/shared/logger.js';
import { oneWorkerConfig } from './oneWorkerConfig.js';

const [archArg, backendArg, batchArg, stepsArg, out, seedArg = '42', everyArg = '0'] = process.argv.slice(2);
const [batch, steps, seed, evalEvery] = [batchArg, stepsArg, seedArg, everyArg].map(Number) as [number, number, number, number];
if (!ARCHS.includes(archArg as Arch) || !BACKENDS.includes(backendArg as BackendName) || !out || ![batch, steps, seed, evalEvery].every((n) => Number.isInteger(n) && n >= 0) || batch < 1 || steps < 1) {
  console.error('usage: peerReplay.js ARCH BACKEND BATCH STEPS OUT [SEED] [EVAL_EVERY]');
  process.exit(2);
}
const arch = archArg as Arch;
const backend = await selectBackend(backendArg as BackendName, silentLogger);
const data = loadTrainingSet();
// What `trainer coordinator --workers 1` runs with PyTorch's hyperparameters (scripts/peerQuality.sh:
// --lr 2e-4 --beta1 0.5 --lr-decay 0 --ema-decay 0).
const config = oneWorkerConfig(arch, batch, steps, seed, data.count);
const specs = archSpecs(arch, config.latentDim);
const f32 = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
mkdirSync(out, { recursive: true });
const layout = (spec: typeof specs.generator): { name: string; shape: number[]; trainable: boolean }[] =>
  paramShapes(spec).map(({ name, shape, trainable }) => ({ name, shape, trainable }));
writeFileSync(join(out, 'meta.json'), JSON.stringify({ arch, batch, steps, seed, backend: backend.name, generator: layout(specs.generator), discriminator: layout(specs.discriminator) }));
const g0 = initialWeights(specs.generator, seed);
const d0 = initialWeights(specs.discriminator, seed);
writeFileSync(join(out, 'g0.f32'), f32(g0));
writeFileSync(join(out, 'd0.f32'), f32(d0));
for (const f of ['images.u8', 'zd.f32', 'zg.f32', 'losses.jsonl']) writeFileSync(join(out, f), '');

const replica = new GanReplica(tf, config);
replica.setWeights(g0, d0);
replica.commit();
const feeder = new DataFeeder(data, config);
let step = 0;
// One rank: the average is the buffer itself; step 1's buffers are kept for the gradient comparison.
// In step 1's generator phase, D is already updated: its state is kept too (d1.f32), so that G's
// gradients can be compared against the same D.
const identity: Reduce = async (_step, phase, grads) => {
  if (step === 1) writeFileSync(join(out, `grads-${phase}.f32`), f32(grads));
  if (step === 1 && phase === 'g') writeFileSync(join(out, 'd1.f32'), f32((await replica.getWeights()).discriminator));
  return grads;
};
for (step = 1; step <= steps; step++) {
  const b = feeder.batchFor(step, 0, 1);
  const end = b.position + batch;
  appendFileSync(join(out, 'images.u8'), b.images);
  appendFileSync(join(out, 'zd.f32'), f32(latentNoise(seed, b.epoch, b.position, end, config.latentDim, NoiseStream.discriminator)));
  appendFileSync(join(out, 'zg.f32'), f32(latentNoise(seed, b.epoch, b.position, end, config.latentDim, NoiseStream.generator)));
  const r = await trainStep(replica, config, b, identity, { world: 1 });
  replica.commit();
  appendFileSync(join(out, 'losses.jsonl'), JSON.stringify({ step, dLoss: r.dLoss, gLoss: r.gLoss, dReal: r.dReal, dFake: r.dFake }) + '\n');
  if (evalEvery > 0 && step % evalEvery === 0) writeFileSync(join(out, `g-${step * batch}.f32`), f32((await replica.getWeights()).generator));
}
const { generator, discriminator } = await replica.getWeights();
writeFileSync(join(out, 'g.f32'), f32(generator));
writeFileSync(join(out, 'd.f32'), f32(discriminator));
console.log(JSON.stringify({ arch, backend: backend.name, batch, steps, seed, out }));
replica.dispose();
