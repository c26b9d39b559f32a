import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { TrainConfig } from '../../src/shared/config.js';
import { loadTrainingSet } from '../../src/shared/data/dataset.js';
import { ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { memoryRing } from '../../src/shared/allreduce/memoryLink.js';
import { initialWeights, stateSize } from '../../src/shared/gan/architecture.js';
import { archSpecs } from '../../src/shared/gan/archs.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { GanReplica } from '../../src/shared/gan/replica.js';
import { tf } from '../../src/shared/gan/tf.js';
import { type Reduce, trainStep } from '../../src/shared/gan/trainStep.js';
import { silentLogger } from '../../src/shared/logger.js';
import { DataFeeder } from '../../src/coordinator/dataFeeder.js';
import { maxRelativeError } from '../fixtures/buffers.js';

const config = (world: number, batchSize: number): TrainConfig => ({
  arch: 'mlp', latentDim: 100, batchSize, world, steps: 5, stepsPerEpoch: 16, lr: 2e-4, beta1: 0.5, beta2: 0.999,
  epsilon: 1e-8, seed: 3, allreduce: 'ring', checkEvery: 50, timeoutMs: 10_000, sampleEvery: 0, timeline: false, checkpointEvery: 0, heartbeatMs: 1000, workerTimeoutMs: 10_000,
});

const data = loadTrainingSet(undefined, 512);

before(async () => {
  await selectBackend('wasm', silentLogger);
});

function newReplica(c: TrainConfig): GanReplica {
  const r = new GanReplica(tf, c);
  const s = archSpecs(c.arch, c.latentDim);
  r.setWeights(initialWeights(s.generator, c.seed), initialWeights(s.discriminator, c.seed));
  return r;
}

/** Trains `world` replicas in one process over the in-memory ring; records step 1's reduced gradients. */
async function train(world: number, batchSize: number, steps: number): Promise<{ replicas: GanReplica[]; step1: Float32Array[] }> {
  const c = config(world, batchSize);
  const replicas = Array.from({ length: world }, () => newReplica(c));
  const links = memoryRing(world);
  const feeder = new DataFeeder(data, c);
  const step1: Float32Array[] = [];
  for (let step = 1; step <= steps; step++) {
    await Promise.all(replicas.map((rep, rank) => {
      const reduce: Reduce = async (s, phase, grads) => {
        const avg = await ringAllReduce(grads, rank, world, links[rank]!, s, phase);
        if (s === 1 && rank === 0) step1.push(Float32Array.from(avg));
        return avg;
      };
      return trainStep(rep, c, feeder.batchFor(step, rank), reduce);
    }));
  }
  return { replicas, step1 };
}

test('2 workers × batch 16 follow 1 worker × batch 32: same gradients at step 1, same weights after 5 steps', async () => {
  const one = await train(1, 32, 5);
  const two = await train(2, 16, 5);
  for (const phase of [0, 1]) {
    const err = maxRelativeError(two.step1[phase]!, one.step1[phase]!);
    assert.ok(err < 1e-5, `step-1 ${phase === 0 ? 'discriminator' : 'generator'} gradients differ by ${err} (relative)`);
  }
  const ref = await one.replicas[0]!.getWeights();
  const [w0, w1] = await Promise.all(two.replicas.map((r) => r.getWeights()));
  const err = maxRelativeError(w0!.generator, ref.generator);
  assert.ok(err < 1e-4, `generator weights after 5 steps differ by ${err} (relative)`);
  assert.ok(maxRelativeError(w0!.discriminator, ref.discriminator) < 1e-4);
  assert.deepEqual(w0, w1, 'the two replicas are bit-identical');
  assert.equal(await two.replicas[0]!.stateHash(), await two.replicas[1]!.stateHash());
  // The comparison has teeth: training moved the weights well beyond the tolerance.
  const s = archSpecs('mlp', 100);
  assert.ok(maxRelativeError(ref.generator, initialWeights(s.generator, 3)) > 1e-3);
  for (const r of [...one.replicas, ...two.replicas]) r.dispose();
});

test('the built model matches its spec and the hash covers optimizer state', async () => {
  const c = config(1, 8);
  const r = newReplica(c);
  assert.deepEqual(r.builtParamShapes(), GanReplica.expectedParamShapes(c));
  const s = archSpecs('mlp', 100);
  assert.equal(r.generatorSize, stateSize(s.generator));
  const before = await r.stateHash();
  const w = await r.getWeights();
  // A zero-gradient update leaves weights equal but moves Adam's step counter: the hash must see it.
  r.applyGenerator(new Float32Array(r.reduceSizes.g));
  assert.deepEqual((await r.getWeights()).generator, w.generator);
  assert.notEqual(await r.stateHash(), before);
  r.dispose();
});

test('no tensor leaks: the count after step 2 equals the count after step 100', async () => {
  const c = { ...config(1, 4), steps: 100 };
  const r = newReplica(c);
  const feeder = new DataFeeder(data, { ...c, stepsPerEpoch: 128 });
  const identity: Reduce = async (_s, _p, g) => g;
  let atStep2 = -1;
  for (let step = 1; step <= 100; step++) {
    await trainStep(r, c, feeder.batchFor(step, 0), identity);
    if (step === 2) atStep2 = tf.memory().numTensors;
    if (step % 25 === 0) await r.stateHash();
  }
  assert.equal(tf.memory().numTensors, atStep2);
  r.dispose();
});

test('non-finite averaged gradients are skipped on every replica alike; training goes on', async () => {
  const c = config(2, 8);
  const replicas = [newReplica(c), newReplica(c)];
  const links = memoryRing(2);
  const feeder = new DataFeeder(data, c);
  const results: Array<Awaited<ReturnType<typeof trainStep>>> = [];
  let beforeStep2: { generator: Float32Array; discriminator: Float32Array } | undefined;
  for (let step = 1; step <= 3; step++) {
    if (step === 2) beforeStep2 = await replicas[0]!.getWeights();
    const out = await Promise.all(replicas.map((rep, rank) => {
      const reduce: Reduce = (s, phase, grads) => {
        // One rank's gradient blows up: the average is NaN everywhere.
        if (s === 2 && phase === 'd' && rank === 1) grads[7] = Number.POSITIVE_INFINITY;
        return ringAllReduce(grads, rank, 2, links[rank]!, s, phase);
      };
      return trainStep(rep, c, feeder.batchFor(step, rank), reduce);
    }));
    results.push(...out);
    if (step === 2) {
      const w = await replicas[0]!.getWeights();
      assert.deepEqual(w.discriminator, beforeStep2!.discriminator, 'the discriminator update of step 2 was skipped');
      assert.notDeepEqual(w.generator, beforeStep2!.generator, 'the generator update of step 2 was applied');
    }
  }
  assert.deepEqual(results.map((r) => r.skipped), [[], [], ['d'], ['d'], [], []]);
  assert.equal(await replicas[0]!.stateHash(), await replicas[1]!.stateHash());
  for (const r of replicas) r.dispose();
});
