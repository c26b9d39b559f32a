import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { installWasmSplitFastPath } from '../../src/shared/compute/wasmSplit.js';
import { tf } from '../../src/shared/gan/tf.js';
import { silentLogger } from '../../src/shared/logger.js';

/** Splits of contiguous blocks (the fast path) and of strided ones (handed back to wasm's kernel). */
const CASES: Array<{ shape: number[]; sizes: number[] | number; axis: number; dtype: 'float32' | 'int32' | 'bool' }> = [
  { shape: [10], sizes: [3, 5, 2], axis: 0, dtype: 'float32' },
  { shape: [1, 6, 2], sizes: [1, 4, 1], axis: 1, dtype: 'float32' },
  { shape: [6, 3], sizes: 3, axis: 0, dtype: 'int32' },
  { shape: [2, 6], sizes: [2, 4], axis: -1, dtype: 'float32' },
  { shape: [8], sizes: [5, 3], axis: 0, dtype: 'bool' },
];

async function splits(): Promise<Array<{ shapes: number[][]; values: number[][] }>> {
  return Promise.all(CASES.map(async ({ shape, sizes, axis, dtype }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(Array.from({ length: n }, (_, i) => (dtype === 'bool' ? Number(i % 3 === 0) : i * 1.5 - 7)), shape, dtype);
    const parts = tf.split(x, sizes, axis);
    const out = { shapes: parts.map((p) => p.shape), values: await Promise.all(parts.map(async (p) => [...await p.data()])) };
    tf.dispose([x, ...parts]);
    return out;
  }));
}

test('the wasm SplitV fast path gives the cpu backend\'s results, contiguous blocks or not, and leaks no data', async () => {
  await selectBackend('cpu', silentLogger);
  const expected = await splits();
  await selectBackend('wasm', silentLogger);
  assert.equal(installWasmSplitFastPath(tf), false, 'already installed by the wasm backend');
  const ids = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  assert.deepEqual(await splits(), expected);
  assert.equal((tf.backend() as unknown as { numDataIds(): number }).numDataIds(), ids);
});
