import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainConfig } from '../../src/shared/config.js';
import { loadTrainingSet } from '../../src/shared/data/dataset.js';
import { ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { memoryRing } from '../../src/shared/allreduce/memoryLink.js';
import { inferShapes, initialWeights, stateSize, trainableSize } from '../../src/shared/gan/architecture.js';
import { archSpecs } from '../../src/shared/gan/archs.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { GanReplica } from '../../src/shared/gan/replica.js';
import { tf } from '../../src/shared/gan/tf.js';
import { type Reduce, trainStep } from '../../src/shared/gan/trainStep.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';
import { DataFeeder } from '../../src/shared/data/dataFeeder.js';
import { maxRelativeError } from '../fixtures/buffers.js';
import { trainConfig } from '../fixtures/trainConfig.js';
import { seededReplica } from '../fixtures/replica.js';

const config = (world: number, batchSize: number, steps = 5): TrainConfig => trainConfig({ arch: 'dcgan', batchSize, world, steps, seed: 7 });
const specs = archSpecs('dcgan', 100);
const data = loadTrainingSet(undefined, 256);

const newReplica = seededReplica;

/** Where the moving statistics sit in a model's state vector (they follow the parameters). */
const statsOf = (state: Float32Array, spec: typeof specs.generator): Float32Array => state.subarray(trainableSize(spec));

test('DCGAN shapes: 100 → 7×7×128 → 7×7×128 → 14×14×64 → 28×28×1 images, one logit; the built models match the specs', async () => {
  await selectBackend('wasm', silentLogger);
  assert.deepEqual(inferShapes(specs.generator).outputShape, [784]);
  assert.deepEqual(inferShapes(specs.discriminator).outputShape, [1]);
  const c = config(1, 4);
  const r = newReplica(c);
  assert.deepEqual(r.builtParamShapes(), GanReplica.expectedParamShapes(c));
  const layerOutputs = r.generator.layers.map((l) => (l.outputShape as number[]).slice(1));
  assert.deepEqual(layerOutputs.filter((s) => s.length === 3), [[7, 7, 128], [7, 7, 128], [7, 7, 128], [7, 7, 128], [7, 7, 128], [7, 7, 128], [14, 14, 64], [14, 14, 64], [14, 14, 64], [28, 28, 1], [28, 28, 1]]);
  assert.deepEqual(r.discriminator.layers.map((l) => (l.outputShape as number[]).slice(1)).filter((s) => s.length === 3), [[28, 28, 1], [14, 14, 64], [14, 14, 64], [7, 7, 128], [7, 7, 128]]);
  // Batch norm only in G: three layers, each with gamma/beta (trained) and mean/variance (state).
  assert.equal(r.generatorSize - trainableSize(specs.generator), 2 * (128 + 128 + 64));
  assert.equal(stateSize(specs.discriminator), trainableSize(specs.discriminator));
  assert.deepEqual(r.reduceSizes, { d: trainableSize(specs.discriminator) + 640, g: trainableSize(specs.generator) + 640 });
  const images = await r.generate(new Float32Array(3 * 100).fill(0.5));
  assert.equal(images.length, 3 * 784);
  assert.ok(images.every((v) => v >= -1 && v <= 1));
  r.dispose();
});

test('DCGAN gradients on wasm equal the cpu backend\'s within 1e-4 (both phases, moving statistics included)', async (t) => {
  const c = config(1, 2);
  const rng = new Rng(11);
  const z = Float32Array.from({ length: 2 * 100 }, () => rng.normal());
  const images = data.images.subarray(0, 2 * 784);
  const run = async (): Promise<Float32Array[]> => {
    const r = newReplica(c);
    try {
      const d = await r.discriminatorGradients(images, z);
      const g = await r.generatorGradients(z);
      return [d.grads, g.grads];
    } finally {
      r.dispose();
    }
  };
  await selectBackend('cpu', silentLogger);
  const cpu = await run();
  await selectBackend('wasm', silentLogger);
  const wasm = await run();
  const errors = ['discriminator', 'generator'].map((which, i) => {
    const err = maxRelativeError(wasm[i]!, cpu[i]!);
    assert.ok(err < 1e-4, `${which} gradients: relative error ${err}`);
    return err;
  });
  t.diagnostic(`relative error wasm vs cpu: D ${errors[0]!.toExponential(2)}, G ${errors[1]!.toExponential(2)}`);
});

test('DCGAN trains on wasm: finite losses, weights and moving statistics move, no tensor leak after the first step', async () => {
  await selectBackend('wasm', silentLogger);
  const c = config(1, 4, 6);
  const r = newReplica(c);
  const feeder = new DataFeeder(data, c);
  const identity: Reduce = async (_s, _p, g) => g;
  let afterWarmup = -1;
  for (let step = 1; step <= c.steps; step++) {
    const result = await trainStep(r, c, feeder.batchFor(step, 0, c.world), identity);
    for (const v of [result.dLoss, result.gLoss, result.dReal, result.dFake]) assert.ok(Number.isFinite(v), `step ${step}: ${JSON.stringify(result)}`);
    if (step === 1) afterWarmup = tf.memory().numTensors;
  }
  assert.equal(tf.memory().numTensors, afterWarmup);
  const w = await r.getWeights();
  const init = initialWeights(specs.generator, c.seed);
  assert.ok(maxRelativeError(w.generator, init) > 1e-4, 'generator weights moved');
  assert.ok(maxRelativeError(statsOf(w.generator, specs.generator), statsOf(init, specs.generator)) > 1e-3, 'moving statistics moved');
  r.dispose();
});

for (const backend of ['wasm', 'native'] as const) test(`${backend}: 2 DCGAN replicas: identical weights, optimizer state and batch-norm statistics; the hash covers the statistics`, async () => {
  await selectBackend(backend, silentLogger);
  const c = config(2, 4, 3);
  const replicas = [newReplica(c), newReplica(c)];
  const links = memoryRing(2);
  const feeder = new DataFeeder(data, c);
  const localStats: Float32Array[][] = [[], []];
  for (let step = 1; step <= c.steps; step++) {
    await Promise.all(replicas.map((rep, rank) => {
      const reduce: Reduce = async (s, phase, grads) => {
        // What this rank would have kept without the averaging: its own moving statistics.
        if (s === 1 && phase === 'd') localStats[rank]!.push(Float32Array.from(grads.subarray(grads.length - 384)));
        return ringAllReduce(grads, rank, 2, links[rank]!, s, phase);
      };
      return trainStep(rep, c, feeder.batchFor(step, rank, c.world), reduce);
    }));
  }
  // The ranks saw different images, so unsynchronized statistics would differ.
  assert.ok(maxRelativeError(localStats[0]![0]!, localStats[1]![0]!) > 1e-4);
  const [w0, w1] = await Promise.all(replicas.map((r) => r.getWeights()));
  assert.deepEqual(w0, w1);
  const [h0, h1] = await Promise.all(replicas.map((r) => r.stateHash()));
  assert.equal(h0, h1);
  // Changing one moving variance changes the hash.
  const tweaked = Float32Array.from(w0!.generator);
  tweaked[tweaked.length - 1]! += 0.5;
  replicas[1]!.setWeights(tweaked, w0!.discriminator);
  assert.notEqual(await replicas[1]!.stateHash(), h0);
  for (const r of replicas) r.dispose();
});

test('2 DCGAN replicas fed different batches stay identical when a generator update is skipped: batch-norm statistics included', async () => {
  await selectBackend('wasm', silentLogger);
  const c = config(2, 4, 3);
  const replicas = [newReplica(c), newReplica(c)];
  const links = memoryRing(2);
  const feeder = new DataFeeder(data, c);
  const skipped: string[][] = [];
  for (let step = 1; step <= c.steps; step++) {
    const results = await Promise.all(replicas.map((rep, rank) => {
      const reduce: Reduce = (s, phase, grads) => {
        // One rank's generator gradient blows up at step 2: the average is NaN on every replica, and the g update is skipped.
        if (s === 2 && phase === 'g' && rank === 1) grads[0] = Number.NaN;
        return ringAllReduce(grads, rank, 2, links[rank]!, s, phase);
      };
      return trainStep(rep, c, feeder.batchFor(step, rank, c.world), reduce);
    }));
    skipped.push(...results.map((r) => r.skipped));
    // The worker hashes right after the step (a check step): the skipped step must already agree.
    const [w0, w1] = await Promise.all(replicas.map((r) => r.getWeights()));
    assert.deepEqual(statsOf(w1!.generator, specs.generator), statsOf(w0!.generator, specs.generator), `step ${step}: moving statistics equal`);
    const [h0, h1] = await Promise.all(replicas.map((r) => r.stateHash()));
    assert.equal(h0, h1, `step ${step}: state hashes equal`);
  }
  assert.deepEqual(skipped, [[], [], ['g'], ['g'], [], []]);
  for (const r of replicas) r.dispose();
});
