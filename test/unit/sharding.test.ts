import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchPosition, epochPermutation, gatherExamples, sliceGlobalBatch, stepsPerEpoch } from '../../src/shared/data/sharding.js';
import { NoiseStream, latentNoise } from '../../src/shared/data/noise.js';
import { Rng, hashKey } from '../../src/shared/rng.js';

test('each epoch order is a permutation, fixed by (seed, epoch)', () => {
  const a = epochPermutation(1000, 7, 0);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(a, epochPermutation(1000, 7, 0));
  assert.notDeepEqual(a, epochPermutation(1000, 7, 1));
  assert.notDeepEqual(a, epochPermutation(1000, 8, 0));
});

test('rank slices tile the global batch exactly, for any number of workers, even or not', () => {
  for (const parts of [1, 2, 3, 4, 5, 7]) {
    const covered: number[] = [];
    const sizes: number[] = [];
    for (let r = 0; r < parts; r++) {
      const { start, end } = sliceGlobalBatch(5, r, parts, 12);
      sizes.push(end - start);
      for (let i = start; i < end; i++) covered.push(i);
    }
    assert.deepEqual(covered, Array.from({ length: 12 }, (_, i) => 60 + i));
    // Uneven splits differ by at most one example.
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
  }
  // With P dividing G, rank r gets exactly [r·G/P, (r+1)·G/P): the layout a fixed world always had.
  assert.deepEqual(sliceGlobalBatch(2, 1, 4, 64), { start: 2 * 64 + 16, end: 2 * 64 + 32 });
  assert.throws(() => sliceGlobalBatch(0, 2, 2, 4), /rank 2 outside world of 2/);
  assert.throws(() => sliceGlobalBatch(0, 0, 5, 4), /5 workers cannot share a global batch of 4/);
});

test('steps map to epochs with the incomplete last batch dropped', () => {
  assert.equal(stepsPerEpoch(100, 32), 3);
  assert.deepEqual(batchPosition(1, 3), { epoch: 0, batchInEpoch: 0 });
  assert.deepEqual(batchPosition(4, 3), { epoch: 1, batchInEpoch: 0 });
});

test('gathers examples in epoch order', () => {
  const images = Uint8Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual([...gatherExamples(images, 2, Uint32Array.from([3, 1, 0, 2]), 1, 3)], [1, 1, 0, 0]);
});

test('noise depends on the example, not on how the batch is cut', () => {
  const whole = latentNoise(1, 0, 64, 96, 100, NoiseStream.discriminator);
  const halves = [latentNoise(1, 0, 64, 80, 100, NoiseStream.discriminator), latentNoise(1, 0, 80, 96, 100, NoiseStream.discriminator)];
  assert.deepEqual(whole, Float32Array.from([...halves[0]!, ...halves[1]!]));
  assert.notDeepEqual(whole, latentNoise(1, 0, 64, 96, 100, NoiseStream.generator));
  const mean = whole.reduce((a, b) => a + b, 0) / whole.length;
  const variance = whole.reduce((a, b) => a + (b - mean) ** 2, 0) / whole.length;
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(variance - 1) < 0.05, `noise is standard normal (mean ${mean}, var ${variance})`);
});

test('the generator is deterministic and its integers are in range', () => {
  const a = new Rng(hashKey(1, 2, 3));
  const b = new Rng(hashKey(1, 2, 3));
  for (let i = 0; i < 100; i++) assert.equal(a.nextUint32(), b.nextUint32());
  assert.notEqual(hashKey(1, 2, 3), hashKey(1, 2, 4));
  assert.notEqual(hashKey(2 ** 32), hashKey(0));
  const counts = new Array<number>(6).fill(0);
  for (let i = 0; i < 6000; i++) counts[a.int(6)]!++;
  assert.ok(counts.every((c) => c > 850 && c < 1150), `int(6) is uniform: ${counts.join(',')}`);
});
