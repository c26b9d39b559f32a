import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlatAdam } from '../../src/shared/gan/flatAdam.js';
import { hasFusedAdam, hasFusedAdamParts } from '../../src/shared/compute/fusedAdam.js';
import { loadNativeAddon } from '../../src/shared/compute/nativeAddon.js';
import { averageSlotsJs } from '../../src/shared/allreduce/sharedMemoryReduce.js';
import { allFiniteJs } from '../../src/shared/gan/finite.js';
import type { Tensor } from '../../src/shared/gan/tf.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { tf } from '../../src/shared/gan/tf.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';

const SHAPES = [[7, 5], [5], [5, 3], [3]];

function randoms(n: number, rng: Rng, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

for (const backend of ['cpu', 'wasm', 'native'] as const) {
  test(`flat Adam gives tfjs Adam's bits on ${backend} (4 variables, 5 steps)`, async () => {
    await selectBackend(backend, silentLogger);
    // On native the update is one fused kernel (the addon); elsewhere tfjs's element-wise kernels.
    assert.equal(hasFusedAdam(tf), backend === 'native');
    const rng = new Rng(11);
    const sizes = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
    const total = sizes.reduce((a, b) => a + b, 0);
    const init = randoms(total, rng, 1);
    const reference = SHAPES.map((shape, i) => tf.variable(tf.tensor(init.subarray(sizes.slice(0, i).reduce((a, b) => a + b, 0), sizes.slice(0, i + 1).reduce((a, b) => a + b, 0)), shape)));
    let flat: ReturnType<typeof tf.tensor> = tf.tensor1d(init);
    const tfAdam = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
    const ours = new FlatAdam(tf, total, 0.5, 0.999, 1e-8);
    let afterFirst = 0;
    for (let step = 0; step < 5; step++) {
      // Gradients across several orders of magnitude, as real ones are.
      const g = randoms(total, rng, 10 ** (step - 3));
      let offset = 0;
      tf.tidy(() => tfAdam.applyGradients(reference.map((v, i) => {
        const part = tf.tensor(g.subarray(offset, offset + sizes[i]!), SHAPES[i]);
        offset += sizes[i]!;
        return { name: v.name, tensor: part };
      })));
      const next = tf.tidy(() => ours.update(flat, tf.tensor1d(g), 2e-4));
      flat.dispose();
      flat = next;
      // tfjs's Adam makes its moments on the first step; from then on nothing may grow.
      if (step === 0) afterFirst = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, afterFirst, 'no tensors leak across steps');
    const expected = new Float32Array((await Promise.all(reference.map((v) => v.data()))).flatMap((d) => [...d]));
    assert.deepEqual(new Float32Array(await flat.data()), expected, 'identical parameters');
    // The moments are the same bytes as tfjs's, concatenated.
    const state = await ours.exportState();
    assert.equal(state[0], 5, 'step counter');
    const [m, v] = [state.subarray(3, 3 + total), state.subarray(3 + total)];
    const weights = await tfAdam.getWeights();
    const refM = new Float32Array((await Promise.all(weights.slice(1, 5).map((w) => w.tensor.data()))).flatMap((d) => [...d]));
    const refV = new Float32Array((await Promise.all(weights.slice(5, 9).map((w) => w.tensor.data()))).flatMap((d) => [...d]));
    assert.deepEqual(Float32Array.from(m), refM);
    assert.deepEqual(Float32Array.from(v), refV);
    tf.dispose([flat, ...reference, weights[0]!.tensor]);
    tfAdam.dispose();
    ours.dispose();
  });
}

test('native: the update over the variables from averaged parts gives the flat update\'s bits (1 to 3 parts, sizes across its blocks), and a non-finite gradient changes nothing', async () => {
  await selectBackend('native', silentLogger);
  assert.ok(hasFusedAdamParts(tf), 'the native backend registers the per-variable update');
  // Sizes below, at and across the kernel's 2048-value blocks, and one that ends mid-block.
  const shapes = [[3, 700], [2048], [5], [4100], [1]];
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  for (const count of [1, 2, 3]) {
    const rng = new Rng(20 + count);
    const init = randoms(total, rng, 1);
    let flat: Tensor = tf.tensor1d(init);
    let offset = 0;
    const vars = shapes.map((shape, i) => tf.variable(tf.tensor(init.subarray(offset, (offset += sizes[i]!)), shape)));
    const flatAdam = new FlatAdam(tf, total, 0.5, 0.999, 1e-8);
    const varAdam = new FlatAdam(tf, total, 0.5, 0.999, 1e-8);
    const factor = count === 1 ? 1 : 1 / count;
    let afterFirst = 0;
    for (let step = 0; step < 4; step++) {
      const parts = Array.from({ length: count }, () => randoms(total, rng, 10 ** (step - 2)));
      // A part's value so large that the sum overflows float32 before the factor: both paths must see Infinity alike.
      if (step === 2 && count > 1) parts.forEach((p) => { p[5] = 3e38; });
      const avg = count === 1 ? parts[0]! : new Float32Array(total);
      if (count > 1) averageSlotsJs(avg, parts, factor);
      const finite = allFiniteJs(avg);
      const before = await varAdam.exportState();
      const values = varAdam.updateVariables(vars, parts, factor, 2e-4);
      assert.equal(values !== undefined, finite, `${count} parts, step ${step}: applied exactly when the average is finite`);
      if (!values) {
        assert.deepEqual(await varAdam.exportState(), before, 'a non-finite gradient leaves the moments, beta powers and step count as they were');
        continue;
      }
      vars.forEach((v, i) => v.assign(values[i]!));
      tf.dispose(values);
      const next = tf.tidy(() => flatAdam.update(flat, tf.tensor1d(avg), 2e-4));
      flat.dispose();
      flat = next;
      if (step === 0) afterFirst = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, afterFirst, 'no tensors leak across steps');
    const expected = new Float32Array(await flat.data());
    const got = new Float32Array((await Promise.all(vars.map((v) => v.data()))).flatMap((d) => [...d]));
    assert.deepEqual(got, expected, `${count} parts: identical parameters`);
    assert.deepEqual(await varAdam.exportState(), await flatAdam.exportState(), `${count} parts: identical moments, beta powers and step count`);
    tf.dispose([flat, ...vars]);
    flatAdam.dispose();
    varAdam.dispose();
  }
});

test('native: the per-variable update refuses parts of the wrong length or kind, and a bad layout, in one line', async () => {
  await selectBackend('native', silentLogger);
  const v = tf.variable(tf.zeros([10]));
  const adam = new FlatAdam(tf, 10, 0.5, 0.999, 1e-8);
  assert.throws(() => adam.updateVariables([v], [new Float32Array(9)], 1, 1e-3), /parts must be an array of 1 to 256 Float32Arrays, each as long as/);
  assert.throws(() => adam.updateVariables([v], [new Float64Array(10) as unknown as Float32Array], 1, 1e-3), /parts must be/);
  assert.throws(() => adam.updateVariables([v], [], 1, 1e-3), /parts must be/);
  const heap = new ArrayBuffer(64);
  const addon = loadNativeAddon();
  assert.throws(() => addon.adamParts(heap, [new Float32Array(4)], 1, new Float64Array([0, 16, 4, 1]), 0, 0, 0, 0, 0, 0, 0.5, 0.9, 1e-3, 1e-8), /layout must be a Float64Array/);
  assert.throws(() => addon.adamParts(heap, [new Float32Array(4)], 1, new Float64Array([0, 60, 4]), 0, 0, 0, 0, 0, 0, 0.5, 0.9, 1e-3, 1e-8), /does not lie \(aligned\) inside the heap/);
  assert.equal(await adam.exportState().then((s) => s[0]), 0, 'nothing was counted');
  tf.dispose(v);
  adam.dispose();
});
