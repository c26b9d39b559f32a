import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlatAdam } from '../../src/shared/gan/flatAdam.js';
import { hasFusedAdam } from '../../src/shared/compute/fusedAdam.js';
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
