import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { tf } from '../../src/shared/gan/tf.js';
import { installWasmMatMulFastPath } from '../../src/shared/gan/wasmFastPaths.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';
import { maxRelativeError } from '../fixtures/buffers.js';

type T = ReturnType<typeof tf.tensor>;
type KernelConfig = NonNullable<ReturnType<typeof tf.getKernel>>;

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
/** Operands the products above ask to transpose: what the fast path turns into explicit Transpose calls. */
const TRANSPOSED_OPERANDS = 1 + 1 + 2 + 0 + 1 + 1;

/** Registers `kernelFunc` in place of the wasm kernel `name`; returns what was there. */
function replaceWasmKernel(name: string, kernelFunc: KernelConfig['kernelFunc']): KernelConfig {
  const stock = tf.getKernel(name, 'wasm');
  assert.ok(stock, `the wasm backend has a ${name} kernel`);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc });
  return stock;
}

test('wasm matrix products with transposed operands: the fast path is installed, runs, matches the cpu backend and releases its copies', async () => {
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

  // tfjs's own kernels first; a counting Transpose goes in before the fast path captures it.
  await selectBackend('wasm', silentLogger, { wasmFastPath: false });
  let transposes = 0;
  const stockTranspose = replaceWasmKernel('Transpose', (args) => { transposes++; return stockTranspose.kernelFunc(args); });
  try {
    const stock = ['BatchMatMul', '_FusedMatMul'].map((name) => tf.getKernel(name, 'wasm')!.kernelFunc);
    run();
    assert.equal(transposes, 0, 'tfjs\'s own kernels transpose inside the product');

    assert.equal(installWasmMatMulFastPath(tf), true);
    const installed = ['BatchMatMul', '_FusedMatMul'].map((name) => tf.getKernel(name, 'wasm')!.kernelFunc);
    installed.forEach((f, i) => assert.notEqual(f, stock[i], 'the registered kernel is the fast path\'s wrapper'));
    assert.equal(installWasmMatMulFastPath(tf), false, 'installing twice wraps nothing again');
    assert.deepEqual(['BatchMatMul', '_FusedMatMul'].map((name) => tf.getKernel(name, 'wasm')!.kernelFunc), installed);

    const ids = tf.backend().numDataIds();
    const fast = run();
    assert.equal(tf.backend().numDataIds(), ids, 'the transposed copies are released');
    assert.equal(transposes, TRANSPOSED_OPERANDS, 'every transposed operand went through an explicit Transpose: the wrapper ran');
    fast.forEach((out, i) => {
      const err = maxRelativeError(out, reference[i]!);
      assert.ok(err < 1e-5, `product ${i}: relative error ${err}`);
    });
  } finally {
    tf.unregisterKernel('Transpose', 'wasm');
    tf.registerKernel(stockTranspose);
  }
});
