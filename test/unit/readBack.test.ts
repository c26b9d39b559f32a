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

for (const backend of ['wasm', 'native', 'cpu'] as const) {
  test(`${backend}: readInto puts the first values in the caller's memory and the rest in a buffer kept per key, and disposes the tensor`, async () => {
    await selectBackend(backend, silentLogger);
    const reads = new ReadBackBuffers(tf);
    const before = tf.memory().numTensors;
    const head = new Float32Array(997);
    const first = await reads.readInto('d', tf.tensor1d(values(1000, 1)), head);
    assert.equal(first.head, head, 'the caller\'s memory itself');
    assert.deepEqual(first.head, values(1000, 1).subarray(0, 997));
    assert.deepEqual(first.rest, values(1000, 1).subarray(997));
    // A plain read of the same key keeps its own buffer: readInto's rest does not overwrite it.
    const plain = await reads.read('d', tf.tensor1d(values(1000, 2)));
    const second = await reads.readInto('d', tf.tensor1d(values(1000, 3)), head);
    assert.deepEqual(plain, values(1000, 2));
    assert.deepEqual(second.head, values(1000, 3).subarray(0, 997));
    assert.deepEqual(second.rest, values(1000, 3).subarray(997));
    if (backend !== 'cpu') assert.equal(second.rest, first.rest, 'the rest reuses its buffer');
    await assert.rejects(reads.readInto('d', tf.tensor1d(values(10, 4)), head), /read-back of 10 float32 values into 997 floats/);
    assert.equal(tf.memory().numTensors, before);
  });
}
