import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { tf } from '../../src/shared/gan/tf.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';
import { maxRelativeError } from '../fixtures/buffers.js';

type T = ReturnType<typeof tf.tensor>;

function products(a: T, b: T, bt: T, at: T, bias: T): Float32Array[] {
  return tf.tidy(() => [
    tf.matMul(at, b, true, false),
    tf.matMul(a, bt, false, true),
    tf.matMul(at, bt, true, true),
    tf.matMul(a, b),
    tf.fused.matMul({ a: at, b, transposeA: true, bias, activation: 'relu' }),
    tf.fused.matMul({ a, b: bt, transposeB: true, bias, activation: 'leakyrelu', leakyreluAlpha: 0.2 }),
  ].map((t) => t.dataSync() as Float32Array));
}

test('wasm matrix products with transposed operands match the cpu backend after the fast path', async () => {
  const rng = new Rng(5);
  const mk = (shape: number[]): Float32Array => Float32Array.from({ length: shape[0]! * shape[1]! }, () => rng.normal());
  const shapes = { a: [33, 70], b: [70, 21], bt: [21, 70], at: [70, 33], bias: [21] };
  const raw = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, s.length === 1 ? Float32Array.from({ length: s[0]! }, () => rng.normal()) : mk(s)]));
  const run = (): Float32Array[] => {
    const t = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.tensor(raw[k]!, s)])) as Record<keyof typeof shapes, T>;
    try {
      return products(t.a, t.b, t.bt, t.at, t.bias);
    } finally {
      for (const x of Object.values(t)) x.dispose();
    }
  };
  await selectBackend('cpu', silentLogger);
  const reference = run();
  await selectBackend('wasm', silentLogger);
  const before = tf.memory().numTensors;
  const fast = run();
  assert.equal(tf.memory().numTensors, before, 'the transposed copies are released');
  fast.forEach((out, i) => {
    const err = maxRelativeError(out, reference[i]!);
    assert.ok(err < 1e-5, `product ${i}: relative error ${err}`);
  });
});
