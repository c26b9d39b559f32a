import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTrainingSet } from '../../src/shared/data/dataset.js';
import { DataFeeder } from '../../src/shared/data/dataFeeder.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { silentLogger } from '../../src/shared/logger.js';
import { trainConfig } from '../fixtures/trainConfig.js';
import { seededReplica } from '../fixtures/replica.js';

const data = loadTrainingSet(undefined, 64);
const c = trainConfig({ batchSize: 16, seed: 11 });
const images = new DataFeeder(data, c).batchFor(1, 0, 1).images;
const z = Float32Array.from({ length: c.batchSize * c.latentDim }, (_, i) => Math.cos(i * 0.29));

// wasm: tfjs-layers' phases (G's buffer ends in one loss value); native: the trainer's ops (three); cpu: no heap views.
for (const backend of ['wasm', 'native', 'cpu'] as const) {
  test(`${backend}: gradients read back into memory the reduce offers are the same bits, with the same losses, as read back anywhere`, async () => {
    await selectBackend(backend, silentLogger);
    const plain = seededReplica(c);
    const placed = seededReplica(c);
    const asked: number[] = [];
    const slots = { d: new Float32Array(placed.reduceSizes.d), g: new Float32Array(placed.reduceSizes.g) };
    const into = (which: 'd' | 'g') => (length: number): Float32Array => {
      asked.push(length);
      return slots[which];
    };
    const d0 = await plain.discriminatorGradients(images, z);
    const d1 = await placed.discriminatorGradients(images, z, into('d'));
    assert.equal(d1.grads, slots.d, 'the gradients are the offered memory');
    assert.deepEqual(d1.grads, d0.grads);
    assert.deepEqual([d1.loss, d1.dReal, d1.dFake], [d0.loss, d0.dReal, d0.dFake]);
    const g0 = await plain.generatorGradients(z);
    const g1 = await placed.generatorGradients(z, into('g'));
    assert.equal(g1.grads, slots.g);
    assert.deepEqual(g1.grads, g0.grads);
    assert.equal(g1.loss, g0.loss);
    assert.deepEqual(asked, [placed.reduceSizes.d, placed.reduceSizes.g], 'each phase asks for its reduce buffer\'s length');
    // Memory of another length is not used: the phase reads back as it would without it.
    const g2 = await placed.generatorGradients(z, () => new Float32Array(3));
    assert.equal(g2.grads.length, placed.reduceSizes.g);
    plain.dispose();
    placed.dispose();
  });
}
