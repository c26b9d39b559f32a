import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { tf } from '../../src/shared/gan/tf.js';
import { installWasmConvInputFastPath, installWasmTileFastPath } from '../../src/shared/gan/wasmConvKernels.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';
import { maxRelativeError } from '../fixtures/buffers.js';

type T = ReturnType<typeof tf.tensor>;

interface Case {
  name: string;
  x: number[];
  filter: number[];
  stride: number;
  pad: 'same' | 'valid';
  transposed: boolean;
}

const cases: Case[] = [
  { name: 'DCGAN D conv2', x: [2, 14, 14, 64], filter: [4, 4, 64, 128], stride: 2, pad: 'same', transposed: false },
  { name: 'DCGAN D conv1', x: [2, 28, 28, 1], filter: [4, 4, 1, 64], stride: 2, pad: 'same', transposed: false },
  { name: 'DCGAN G conv1', x: [2, 7, 7, 128], filter: [3, 3, 128, 128], stride: 1, pad: 'same', transposed: false },
  { name: 'DCGAN G deconv1', x: [2, 7, 7, 128], filter: [4, 4, 64, 128], stride: 2, pad: 'same', transposed: true },
  { name: 'odd, valid, stride 1', x: [3, 9, 7, 3], filter: [3, 2, 3, 5], stride: 1, pad: 'valid', transposed: false },
  { name: 'odd, same, stride 3', x: [2, 10, 11, 2], filter: [3, 3, 2, 4], stride: 3, pad: 'same', transposed: false },
];

function random(shape: number[], rng: Rng): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

/** Output, input gradient and filter gradient of sum(conv(x, w) · dy), as plain arrays. */
function convAndGradients(c: Case, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const x = tf.tensor(random(c.x, rng), c.x) as T;
  const w = tf.tensor(random(c.filter, rng), c.filter) as T;
  const [n, h, wd] = c.x as [number, number, number, number];
  const outShape: [number, number, number, number] = c.transposed ? [n, h * c.stride, wd * c.stride, c.filter[2]!] : [0, 0, 0, 0];
  const conv = (xx: T, ww: T): T => (c.transposed
    ? tf.conv2dTranspose(xx as never, ww as never, outShape, c.stride, c.pad)
    : tf.conv2d(xx as never, ww as never, c.stride, c.pad)) as T;
  const y = conv(x, w);
  const dy = tf.tensor(random(y.shape, rng), y.shape) as T;
  const grads = tf.grads((xx: T, ww: T) => conv(xx, ww).mul(dy).sum())([x, w]);
  const out = [y, ...grads].map((t) => t.dataSync() as Float32Array);
  tf.dispose([x, w, y, dy, ...grads]);
  return out;
}

const PARTS = ['output', 'input gradient', 'filter gradient'];

test('wasm convolution gradients: the provided filter gradient and the fast paths agree with cpu and with tfjs\'s own wasm kernels', async (t) => {
  await selectBackend('cpu', silentLogger);
  const reference = cases.map((c, i) => convAndGradients(c, i));
  const tileInput = tf.tensor(random([1, 1, 1, 64], new Rng(99)), [1, 1, 1, 64]);
  const tile = (x: T): Float32Array => tf.tidy(() => tf.tile(x, [3, 5, 4, 1]).dataSync() as Float32Array);
  const tiledCpu = tile(tileInput);
  tileInput.dispose();

  // tfjs's own wasm kernels, plus the filter gradient it lacks (without which none of this runs).
  await selectBackend('wasm', silentLogger, { wasmFastPath: false });
  const ownKernels = cases.map((c, i) => convAndGradients(c, i));
  const tileWasm = tf.tensor(random([1, 1, 1, 64], new Rng(99)), [1, 1, 1, 64]);
  const tiledOwn = tile(tileWasm);

  const stock = ['Conv2DBackpropInput', 'Tile'].map((name) => tf.getKernel(name, 'wasm')!.kernelFunc);
  assert.ok(installWasmConvInputFastPath(tf) && installWasmTileFastPath(tf));
  ['Conv2DBackpropInput', 'Tile'].forEach((name, i) => assert.notEqual(tf.getKernel(name, 'wasm')!.kernelFunc, stock[i], `${name}: ours is registered`));
  // The kernels' own makeOutput/disposeData buffers are invisible to tf.memory(): count the backend's data ids.
  const ids = tf.backend().numDataIds();
  const fast = cases.map((c, i) => convAndGradients(c, i));
  const tiledFast = tile(tileWasm);
  assert.equal(tf.backend().numDataIds(), ids, 'the kernels release every intermediate buffer');
  tileWasm.dispose();

  let worst = { cpu: 0, own: 0 };
  cases.forEach((c, i) => PARTS.forEach((part, j) => {
    const vsCpu = maxRelativeError(fast[i]![j]!, reference[i]![j]!);
    assert.ok(vsCpu < 1e-5, `${c.name}, ${part}: relative error ${vsCpu} against cpu`);
    const vsOwn = maxRelativeError(fast[i]![j]!, ownKernels[i]![j]!);
    // The filter gradient has no tfjs wasm kernel to compare with: ownKernels used ours too. Both sum
    // in float32 in different orders: over G conv1's 3·3·128 = 1152 terms that differs by ~1e-6.
    assert.ok(vsOwn < 4e-6, `${c.name}, ${part}: relative error ${vsOwn} against tfjs's wasm kernel`);
    worst = { cpu: Math.max(worst.cpu, vsCpu), own: Math.max(worst.own, vsOwn) };
  }));
  t.diagnostic(`largest relative error: ${worst.cpu.toExponential(2)} against cpu, ${worst.own.toExponential(2)} against tfjs's wasm kernels`);
  assert.deepEqual(tiledFast, tiledOwn, 'tile: the same bits as tfjs\'s wasm kernel');
  assert.deepEqual(tiledFast, tiledCpu);
});
