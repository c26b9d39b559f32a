import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { ReadBackBuffers } from '../../src/shared/gan/readBack.js';
import { tf } from '../../src/shared/gan/tf.js';
import { silentLogger } from '../../src/shared/logger.js';

const values = (n: number, k: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.fround(i * 0.25 - k));

for (const backend of ['wasm', 'native'] as const) {
  test(`${backend}: a key's read-backs land in one buffer kept from call to call, with the tensor's values, and dispose the tensor`, async () => {
    await selectBackend(backend, silentLogger);
    const reads = new ReadBackBuffers(tf);
    const before = tf.memory().numTensors;
    const first = await reads.read('d', tf.tensor1d(values(1000, 1)));
    assert.deepEqual(first, values(1000, 1));
    const other = await reads.read('g', tf.tensor1d(values(1000, 2)));
    const second = await reads.read('d', tf.tensor1d(values(1000, 3)));
    // The same memory, no new garbage: what keeps V8's full collections away (readBack.ts).
    assert.equal(second, first);
    assert.notEqual(other, first);
    assert.deepEqual(second, values(1000, 3));
    assert.deepEqual(other, values(1000, 2));
    // Another length gets a buffer of its own size.
    assert.deepEqual(await reads.read('d', tf.tensor1d(values(10, 4))), values(10, 4));
    assert.equal(tf.memory().numTensors, before);
  });
}

test('cpu: read-backs are the backend\'s own fresh arrays (nothing to save there), with the values, and dispose the tensor', async () => {
  await selectBackend('cpu', silentLogger);
  const reads = new ReadBackBuffers(tf);
  const before = tf.memory().numTensors;
  const first = await reads.read('d', tf.tensor1d(values(100, 1)));
  const second = await reads.read('d', tf.tensor1d(values(100, 2)));
  assert.notEqual(second, first);
  assert.deepEqual(first, values(100, 1));
  assert.deepEqual(second, values(100, 2));
  assert.equal(tf.memory().numTensors, before);
});
