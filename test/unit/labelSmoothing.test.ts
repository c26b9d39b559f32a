import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadTrainingSet } from '../../src/shared/data/dataset.js';
import { DataFeeder } from '../../src/shared/data/dataFeeder.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { GanReplica } from '../../src/shared/gan/replica.js';
import { type TrainConfig, modelHash } from '../../src/shared/config.js';
import { checkResumable } from '../../src/coordinator/trainConfig.js';
import { silentLogger } from '../../src/shared/logger.js';
import { maxRelativeError } from '../fixtures/buffers.js';
import { trainConfig } from '../fixtures/trainConfig.js';
import { configFromFlags, checkpointFor } from '../fixtures/coordinatorArgs.js';
import { seededReplica } from '../fixtures/replica.js';

const data = loadTrainingSet(undefined, 64);
const c = trainConfig({ batchSize: 16, seed: 7 });
const images = new DataFeeder(data, c).batchFor(1, 0, 1).images;
const z = Float32Array.from({ length: c.batchSize * c.latentDim }, (_, i) => Math.sin(i * 0.37));

before(async () => {
  await selectBackend('wasm', silentLogger);
});

async function phases(labelSmoothing: number): Promise<{ d: Awaited<ReturnType<GanReplica['discriminatorGradients']>>; g: Float32Array }> {
  const r = seededReplica({ ...c, ...(labelSmoothing ? { labelSmoothing } : {}) });
  const d = await r.discriminatorGradients(images, z);
  const g = (await r.generatorGradients(z)).grads;
  r.dispose();
  return { d, g };
}

const minus = (a: Float32Array, b: Float32Array): Float32Array => a.map((x, i) => x - b[i]!);

test('--label-smoothing s: D\'s target for real images is 1 − s, its fakes\' 0 and G\'s 1 unchanged', async () => {
  const [none, s1, s2] = [await phases(0), await phases(0.1), await phases(0.2)];
  // BCE(x, 1 − s) = BCE(x, 1) + s·x: D's loss and gradients move by s times those of the mean real logit, linear in s.
  const d1 = s1.d.loss - none.d.loss;
  assert.ok(Math.abs(d1) > 1e-4, `smoothing 0.1 moved D's loss by ${d1}`);
  assert.ok(Math.abs(s2.d.loss - none.d.loss - 2 * d1) < 1e-5, `loss moves linearly in s: ${d1}, ${s2.d.loss - none.d.loss}`);
  const g1 = minus(s1.d.grads, none.d.grads);
  assert.ok(g1.some((x) => Math.abs(x) > 1e-6), 'D\'s gradients change');
  assert.ok(maxRelativeError(minus(s2.d.grads, none.d.grads), g1.map((x) => 2 * x)) < 1e-3, 'D\'s gradients move linearly in s');
  // The statistics are D's outputs, whatever it is taught; the generator's loss keeps its target 1.
  assert.equal(s1.d.dReal, none.d.dReal);
  assert.equal(s1.d.dFake, none.d.dFake);
  assert.deepEqual(s1.g, none.g, 'G\'s gradients are the same bits');
});

test('--label-smoothing: in the train config, the model hash and the resume check only when set; out of [0, 0.5) refused', () => {
  const set = configFromFlags({ labelSmoothing: 0.1 });
  assert.equal(set.labelSmoothing, 0.1);
  assert.equal('labelSmoothing' in configFromFlags({}), false, '0, the default, is no smoothing');
  assert.throws(() => configFromFlags({ labelSmoothing: 0.5 }), /--label-smoothing must be in \[0, 0\.5\), got 0\.5/);
  assert.throws(() => configFromFlags({ labelSmoothing: -0.1 }), /--label-smoothing must be in/);
  const shapes = GanReplica.expectedParamShapes(c);
  const plain: TrainConfig = configFromFlags({});
  assert.notEqual(modelHash(set, shapes), modelHash(plain, shapes));
  assert.equal(modelHash({ ...plain, labelSmoothing: 0 }, shapes), modelHash(plain, shapes), 'no smoothing keeps the hash runs had before');
  const checkpoint = checkpointFor(set);
  assert.throws(() => checkResumable(checkpoint, plain), /labelSmoothing 0\.1 \(checkpoint\) vs undefined/);
  assert.doesNotThrow(() => checkResumable(checkpoint, configFromFlags({ labelSmoothing: 0.1 })));
});
