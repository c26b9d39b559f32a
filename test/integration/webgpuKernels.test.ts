/**
 * The trainer's own WGSL kernels (webgpuAdam.ts, webgpuLoss.ts) against the
 * cpu backend, on whatever WebGPU adapter the host has (lavapipe on a CPU-only
 * host; see webgpu.test.ts for how it is found). Fails without one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { FlatAdam } from '../../src/shared/gan/flatAdam.js';
import { countGpuWork, gpuWorkSince } from '../../src/shared/gan/gpuWork.js';
import { tf } from '../../src/shared/gan/tf.js';
import { sigmoidCrossEntropyMean } from '../../src/shared/gan/webgpuLoss.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';
import { maxRelativeError } from '../fixtures/buffers.js';

const NO_DRIVER = 'needs a WebGPU adapter: on a host without a GPU, Mesa >= 24 lavapipe (scripts/setupWebgpu.sh), or VK_ICD_FILENAMES and LD_LIBRARY_PATH naming one';

function randoms(n: number, rng: Rng, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** Counts the GPU work of `f` on the active (webgpu) backend. */
async function gpuWorkOf<T>(f: () => Promise<T>): Promise<{ result: T; dispatches: number }> {
  const counts = countGpuWork(tf.backend());
  assert.ok(counts, 'the active backend is webgpu');
  const before = { ...counts };
  const result = await f();
  return { result, dispatches: gpuWorkSince(before, counts).dispatches };
}

test('fused flat Adam on webgpu: one program per update, parameters and moments equal the cpu element-wise update (5 steps)', async (t) => {
  const size = 10_007; // not a multiple of the workgroup: the tail is covered
  const run = async (): Promise<{ params: Float32Array; state: Float32Array; dispatches: number[] }> => {
    const rng = new Rng(5);
    let flat: ReturnType<typeof tf.tensor> = tf.tensor1d(randoms(size, rng, 1));
    const adam = new FlatAdam(tf, size, 2e-4, 0.5, 0.999, 1e-8);
    const dispatches: number[] = [];
    for (let step = 0; step < 5; step++) {
      // Gradients across several orders of magnitude, as real ones are.
      const g = tf.tensor1d(randoms(size, rng, 10 ** (step - 3)));
      const gpu = tf.getBackend() === 'webgpu';
      const { result: next, dispatches: d } = gpu ? await gpuWorkOf(async () => adam.update(flat, g)) : { result: adam.update(flat, g), dispatches: 0 };
      dispatches.push(d);
      tf.dispose([flat, g]);
      flat = next;
    }
    const params = new Float32Array(await flat.data());
    const state = await adam.exportState();
    flat.dispose();
    adam.dispose();
    return { params, state, dispatches };
  };
  await selectBackend('cpu', silentLogger);
  const cpu = await run();
  await assert.doesNotReject(selectBackend('webgpu', silentLogger), NO_DRIVER);
  const gpu = await run();
  // The kernel and the three slices of its output; the element-wise path takes 15 or more.
  assert.deepEqual(gpu.dispatches, [4, 4, 4, 4, 4]);
  // Step counter and beta powers: the same bits (formed on the CPU as the element-wise path forms them).
  assert.deepEqual([...gpu.state.subarray(0, 3)], [...cpu.state.subarray(0, 3)]);
  const errParams = maxRelativeError(gpu.params, cpu.params);
  const errM = maxRelativeError(gpu.state.subarray(3, 3 + size), cpu.state.subarray(3, 3 + size));
  const errV = maxRelativeError(gpu.state.subarray(3 + size), cpu.state.subarray(3 + size));
  t.diagnostic(`relative error webgpu vs cpu: parameters ${errParams.toExponential(2)}, m ${errM.toExponential(2)}, v ${errV.toExponential(2)}`);
  // Parameters move by about lr per step from values of order 1: rounding of the
  // update (a contracted multiply-add, WGSL's division and sqrt within a few ulp)
  // stays far below one float32 ulp of the parameter (6e-8); a wrong update is off by lr.
  assert.ok(errParams < 1e-6, `parameters: ${errParams}`);
  assert.ok(errM < 1e-5 && errV < 1e-5, `moments: m ${errM}, v ${errV}`);
});

test('fused sigmoid cross-entropy on webgpu: value and gradient equal tfjs\'s on cpu, 2 programs', async (t) => {
  const rng = new Rng(9);
  // Logits from confident to undecided, both signs; 300 of them: beyond one workgroup.
  const logits = Float32Array.from({ length: 300 }, (_, i) => (rng.next() * 2 - 1) * (i % 3 === 0 ? 30 : 3));
  const run = async (label: 0 | 1): Promise<{ value: number; grad: Float32Array }> => {
    const x = tf.tensor2d(logits, [300, 1]);
    const { value, grads } = tf.tidy(() => {
      const r = tf.valueAndGrads((l: ReturnType<typeof tf.tensor>) => sigmoidCrossEntropyMean(tf, l, label).mul(3) as ReturnType<typeof tf.scalar>)([x]);
      return { value: r.value, grads: r.grads };
    });
    const out = { value: (await value.data())[0]!, grad: new Float32Array(await grads[0]!.data()) };
    tf.dispose([x, value, ...grads]);
    return out;
  };
  for (const label of [0, 1] as const) {
    await selectBackend('cpu', silentLogger);
    const cpu = await run(label);
    await assert.doesNotReject(selectBackend('webgpu', silentLogger), NO_DRIVER);
    const { result: gpu, dispatches } = await gpuWorkOf(() => run(label));
    // Forward, gradient, and the two multiplications by 3 (forward and backward) around them.
    assert.equal(dispatches, 4, `label ${label}: dispatches`);
    const errValue = Math.abs(gpu.value - cpu.value) / Math.abs(cpu.value);
    const errGrad = maxRelativeError(gpu.grad, cpu.grad);
    t.diagnostic(`label ${label}: loss ${cpu.value}, relative error value ${errValue.toExponential(2)}, gradient ${errGrad.toExponential(2)}`);
    // A sum of 300 float32 terms in another order, and exp/log within a few ulp.
    assert.ok(errValue < 1e-5, `label ${label}: value ${gpu.value} vs ${cpu.value}`);
    assert.ok(errGrad < 1e-5, `label ${label}: gradient ${errGrad}`);
  }
});
