import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { FlatAdam } from '../../src/shared/gan/flatAdam.js';
import { loadTrainingSet } from '../../src/shared/data/dataset.js';
import { DataFeeder } from '../../src/shared/data/dataFeeder.js';
import { stateSize, trainableSize } from '../../src/shared/gan/architecture.js';
import { archSpecs } from '../../src/shared/gan/archs.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import type { GanReplica } from '../../src/shared/gan/replica.js';
import { tf } from '../../src/shared/gan/tf.js';
import { type Reduce, trainStep } from '../../src/shared/gan/trainStep.js';
import { AVERAGE_EVERY, averageKeeps } from '../../src/shared/gan/weightAverage.js';
import { averageInOptimizerState } from '../../src/shared/gan/stateLayout.js';
import { silentLogger } from '../../src/shared/logger.js';
import { maxRelativeError } from '../fixtures/buffers.js';
import { trainConfig } from '../fixtures/trainConfig.js';
import { seededReplica } from '../fixtures/replica.js';

const DECAY = 0.999;
const c = trainConfig({ batchSize: 8, seed: 5, steps: 40, emaDecay: DECAY });
const data = loadTrainingSet(undefined, 512);
const identity: Reduce = async (_s, _p, grads) => grads;

before(async () => {
  await selectBackend('wasm', silentLogger);
});

const newReplica = (config = c): GanReplica => seededReplica(config);

async function steps(r: GanReplica, from: number, to: number, feeder = new DataFeeder(data, c)): Promise<void> {
  for (let step = from; step <= to; step++) await trainStep(r, c, feeder.batchFor(step, 0, 1), identity);
}

test('the decay: (1 + t) / (10 + t) early, capped at --ema-decay, raised to the update interval', () => {
  assert.equal(AVERAGE_EVERY, 8);
  assert.equal(averageKeeps(DECAY, 8), (9 / 18) ** 8);
  assert.equal(averageKeeps(DECAY, 80_000), DECAY ** 8);
  assert.equal(averageKeeps(0.5, 100, 1), 0.5);
});

test('the average follows its definition: after step 8 it is (1 - k) × weights(8) + k × weights(0); between updates it stays', async () => {
  const r = newReplica();
  const w0 = (await r.getWeights()).generator;
  assert.deepEqual(await r.getGeneratorAverage(), w0, 'it starts at the initial weights');
  await steps(r, 1, 7);
  assert.deepEqual(await r.getGeneratorAverage(), w0, 'no update before step 8');
  await steps(r, 8, 8);
  const w8 = (await r.getWeights()).generator;
  const k = averageKeeps(DECAY, 8);
  const expected = w8.map((w, i) => (1 - k) * w + k * w0[i]!);
  const avg = (await r.getGeneratorAverage())!;
  assert.ok(maxRelativeError(avg, expected) < 1e-5, `average off by ${maxRelativeError(avg, expected)}`);
  assert.notDeepEqual(avg, w8, 'the average is not the last weights');
  r.dispose();
});

test('the average travels in the generator optimizer state: a replica restored from it continues bit for bit; an older state without it is taken', async () => {
  const feeder = new DataFeeder(data, c);
  const a = newReplica();
  await steps(a, 1, 12, feeder);
  const weights = await a.getWeights();
  const opt = await a.getOptimizerState();
  const spec = archSpecs(c.arch, c.latentDim).generator;
  assert.equal(opt.generator.length, FlatAdam.stateSize(trainableSize(spec)) + stateSize(spec));
  assert.deepEqual(averageInOptimizerState(opt.generator, trainableSize(spec), stateSize(spec)), await a.getGeneratorAverage());

  const b = newReplica();
  b.setWeights(weights.generator, weights.discriminator);
  b.setOptimizerState(opt.generator, opt.discriminator);
  assert.equal(await b.stateHash(), await a.stateHash());
  await steps(a, 13, 16, feeder);
  await steps(b, 13, 16, feeder);
  assert.equal(await b.stateHash(), await a.stateHash());

  // A checkpoint from a run without an average: Adam's state alone; the average starts at the weights.
  const old = newReplica();
  old.setWeights(weights.generator, weights.discriminator);
  old.setOptimizerState(opt.generator.subarray(0, FlatAdam.stateSize(trainableSize(spec))), opt.discriminator);
  assert.deepEqual(await old.getGeneratorAverage(), weights.generator);
  assert.throws(() => old.setOptimizerState(opt.generator.subarray(1), opt.discriminator), /generator optimizer state has \d+ values, expected/);
  // A run without an average reads such a state and ignores the average.
  const plain = newReplica({ ...c, emaDecay: undefined });
  plain.setOptimizerState(opt.generator, opt.discriminator);
  assert.equal(await plain.getGeneratorAverage(), undefined);
  for (const r of [a, b, old, plain]) r.dispose();
});

test('rollback restores the average with the rest of the state, and the hash covers it', async () => {
  const r = newReplica();
  const feeder = new DataFeeder(data, c);
  await steps(r, 1, 15, feeder);
  r.commit();
  const hash = await r.stateHash();
  const avg = await r.getGeneratorAverage();
  await steps(r, 16, 16, feeder);
  assert.notDeepEqual(await r.getGeneratorAverage(), avg);
  r.rollback();
  assert.deepEqual(await r.getGeneratorAverage(), avg);
  assert.equal(await r.stateHash(), hash);
  // Same weights and Adam state, another average: another hash.
  const w = await r.getWeights();
  const opt = await r.getOptimizerState();
  const other = Float32Array.from(opt.generator);
  other[other.length - 1]! += 1;
  const twin = newReplica();
  twin.setWeights(w.generator, w.discriminator);
  twin.setOptimizerState(other, opt.discriminator);
  assert.notEqual(await twin.stateHash(), hash);
  r.dispose();
  twin.dispose();
});

test('no tensor leaks with the average: the count after step 2 equals the count after step 40', async () => {
  const r = newReplica();
  const feeder = new DataFeeder(data, c);
  await steps(r, 1, 2, feeder);
  r.commit();
  const atStep2 = tf.memory().numTensors;
  for (let step = 3; step <= 40; step++) {
    await trainStep(r, c, feeder.batchFor(step, 0, 1), identity);
    r.commit();
  }
  await r.getOptimizerState();
  assert.equal(tf.memory().numTensors, atStep2);
  r.dispose();
});
