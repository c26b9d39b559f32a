import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadTrainingSet } from '../../src/shared/data/dataset.js';
import { DataFeeder } from '../../src/shared/data/dataFeeder.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { decaySteps, learningRateAt } from '../../src/shared/gan/lrSchedule.js';
import { GanReplica } from '../../src/shared/gan/replica.js';
import { type Reduce, trainStep } from '../../src/shared/gan/trainStep.js';
import { type TrainConfig, modelHash } from '../../src/shared/config.js';
import { checkResumable } from '../../src/coordinator/trainConfig.js';
import { silentLogger } from '../../src/shared/logger.js';
import { trainConfig } from '../fixtures/trainConfig.js';
import { configFromFlags, checkpointFor } from '../fixtures/coordinatorArgs.js';
import { seededReplica } from '../fixtures/replica.js';

const data = loadTrainingSet(undefined, 512);
const identity: Reduce = async (_s, _p, grads) => grads;

before(async () => {
  await selectBackend('wasm', silentLogger);
});

test('the schedule: constant, then linear over the last fraction of the steps, never zero', () => {
  const s = { lr: 5e-4, steps: 10, lrDecay: 0.5 };
  assert.equal(decaySteps(s), 5);
  const rates = Array.from({ length: 10 }, (_, i) => learningRateAt(s, i + 1));
  for (const r of rates.slice(0, 5)) assert.equal(r, Math.fround(5e-4));
  const tail = rates.slice(4);
  tail.slice(1).forEach((r, i) => assert.ok(Math.abs(tail[i]! - r - 5e-4 / 6) < 1e-9, `even steps: ${tail.join(', ')}`));
  assert.equal(rates[9], Math.fround(5e-4 / 6), 'the last step still moves');
  assert.equal(learningRateAt({ lr: 5e-4, steps: 10 }, 10), Math.fround(5e-4), 'absent: constant');
  assert.equal(learningRateAt({ lr: 5e-4, steps: 10, lrDecay: 0 }, 10), Math.fround(5e-4), '0: constant');
  assert.equal(decaySteps({ lr: 1, steps: 11_000, lrDecay: 0.5 }), 5500);
});

async function train(config: TrainConfig, steps: number): Promise<Float32Array[]> {
  const r = seededReplica(config);
  const feeder = new DataFeeder(data, config);
  const after: Float32Array[] = [(await r.getWeights()).discriminator];
  for (let step = 1; step <= steps; step++) {
    await trainStep(r, config, feeder.batchFor(step, 0, 1), identity);
    after.push((await r.getWeights()).discriminator);
  }
  r.dispose();
  return after;
}

function medianAbsChange(a: Float32Array, b: Float32Array): number {
  const d = Array.from(a, (x, i) => Math.abs(x - b[i]!)).sort((x, y) => x - y);
  return d[d.length >> 1]!;
}

test('the replica applies it: the same bits until the decay starts, then steps of the scheduled size', async () => {
  const constant = trainConfig({ steps: 4, lr: 5e-4, seed: 3 });
  const decayed = { ...constant, lrDecay: 0.5 };
  const [a, b] = [await train(constant, 4), await train(decayed, 4)];
  assert.deepEqual(b[1], a[1], 'step 1 at the full rate');
  assert.deepEqual(b[2], a[2], 'step 2 at the full rate');
  assert.notDeepEqual(b[3], a[3], 'step 3 decays');
  // Adam's first step moves every weight by lr·g/(|g| + ε), i.e. by lr: the step size shows the rate used.
  const first = trainConfig({ steps: 1, lr: 5e-4, seed: 3, lrDecay: 1 });
  const [w0, w1] = await train(first, 1);
  const moved = medianAbsChange(w0!, w1!);
  assert.ok(Math.abs(moved - 2.5e-4) < 2.5e-6, `the one step of a fully decayed 1-step run moves weights by lr/2, moved ${moved}`);
  const [u0, u1] = await train({ ...first, lrDecay: undefined }, 1);
  assert.ok(Math.abs(medianAbsChange(u0!, u1!) - 5e-4) < 5e-6, 'and by lr without decay');
});

/** `trainer coordinator`'s flags at their defaults, as yargs hands them over (camel case), with `given` on top. */
test('--d-lr: the discriminator steps at its own rate, the generator at --lr; equal to --lr or absent, one config and one model hash', async () => {
  const c = trainConfig({ steps: 1, lr: 5e-4, seed: 3 });
  const step = async (config: TrainConfig): Promise<{ d: number; g: number }> => {
    const r = seededReplica(config);
    const before = await r.getWeights();
    await trainStep(r, config, new DataFeeder(data, config).batchFor(1, 0, 1), identity);
    const after = await r.getWeights();
    r.dispose();
    // Adam's first step moves every weight by about its rate (see above); batch-norm statistics move too, hence the median.
    return { d: medianAbsChange(before.discriminator, after.discriminator), g: medianAbsChange(before.generator, after.generator) };
  };
  const moved = await step({ ...c, dLr: 2e-3 });
  assert.ok(Math.abs(moved.d - 2e-3) < 2e-5, `D moved ${moved.d}, expected --d-lr 2e-3`);
  assert.ok(Math.abs(moved.g - 5e-4) < 5e-6, `G moved ${moved.g}, expected --lr 5e-4`);

  const shapes = GanReplica.expectedParamShapes(c);
  assert.notEqual(modelHash({ ...c, dLr: 2e-3 }, shapes), modelHash(c, shapes));
  assert.equal(configFromFlags({ dLr: 2e-3 }).dLr, 2e-3);
  assert.equal('dLr' in configFromFlags({ dLr: 5e-4 }), false, '--d-lr equal to --lr is the one-rate config');
  assert.equal('dLr' in configFromFlags({}), false);
  assert.throws(() => configFromFlags({ dLr: 0 }), /--d-lr must be in \(0, 1\], got 0/);
  // A checkpoint continues only with its own rates.
  const checkpoint = checkpointFor(configFromFlags({ dLr: 2e-3 }));
  assert.throws(() => checkResumable(checkpoint, configFromFlags({})), /dLr 0\.002 \(checkpoint\) vs undefined/);
  assert.doesNotThrow(() => checkResumable(checkpoint, configFromFlags({ dLr: 2e-3 })));
});
