/**
 * The trainer's own WGSL kernels (webgpuAdam.ts, webgpuLoss.ts, webgpuDense.ts, webgpuBatchNorm.ts) against the
 * cpu backend, on whatever WebGPU adapter the host has (lavapipe on a CPU-only
 * host; see webgpu.test.ts for how it is found). Fails without one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { FlatAdam } from '../../src/shared/gan/flatAdam.js';
import { countGpuWork, gpuWorkSince } from '../../src/shared/gan/gpuWork.js';
import { tf } from '../../src/shared/gan/tf.js';
import { ganLoss } from '../../src/shared/gan/ganLossOp.js';
import { type DenseActivation, denseLayer } from '../../src/shared/gan/denseOp.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';
import { maxRelativeError } from '../fixtures/buffers.js';
import { BATCH_NORM_OUTPUTS, DENSE_ACTIVATIONS, againstCpu, batchNormCase, GAN_LOSS_CASES, GAN_LOSS_LOGITS, type T, denseCase, denseReference, ganLossLogits, ganLossReference, ganLossRun, randoms, valueAndGradients } from '../fixtures/opChecks.js';

const NO_DRIVER = 'needs a WebGPU adapter: on a host without a GPU, Mesa >= 24 lavapipe (scripts/setupWebgpu.sh), or VK_ICD_FILENAMES and LD_LIBRARY_PATH naming one';

async function webgpu(): Promise<void> {
  await assert.doesNotReject(selectBackend('webgpu', silentLogger), NO_DRIVER);
}

/** Counts the GPU work of `f` on the active (webgpu) backend. */
async function gpuWorkOf<T>(f: () => Promise<T>): Promise<{ result: T; dispatches: number }> {
  const counts = countGpuWork(tf.backend());
  assert.ok(counts, 'the active backend is webgpu');
  const before = { ...counts };
  const result = await f();
  return { result, dispatches: gpuWorkSince(before, counts).dispatches };
}

test('FusedAdam on webgpu: three programs per update, parameters and moments equal the cpu element-wise update (5 steps)', async (t) => {
  const size = 10_007; // not a multiple of the workgroup: the tail is covered
  const run = async (): Promise<{ params: Float32Array; state: Float32Array; dispatches: number[] }> => {
    const rng = new Rng(5);
    let flat: ReturnType<typeof tf.tensor> = tf.tensor1d(randoms(size, rng, 1));
    const adam = new FlatAdam(tf, size, 0.5, 0.999, 1e-8);
    const dispatches: number[] = [];
    for (let step = 0; step < 5; step++) {
      // Gradients across several orders of magnitude, as real ones are.
      const g = tf.tensor1d(randoms(size, rng, 10 ** (step - 3)));
      const gpu = tf.getBackend() === 'webgpu';
      const { result: next, dispatches: d } = gpu ? await gpuWorkOf(async () => adam.update(flat, g, 2e-4)) : { result: adam.update(flat, g, 2e-4), dispatches: 0 };
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
  // One program per output (value, m, v); the element-wise path takes 15 or more, the joint output and its slices took 4.
  assert.deepEqual(gpu.dispatches, [3, 3, 3, 3, 3]);
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

/** Dispatches of f's forward pass alone (no tape), on the active backend. */
async function forwardDispatches(f: (...xs: T[]) => T[], inputs: Float32Array[], shapes: number[][]): Promise<number> {
  const xs = inputs.map((v, i) => tf.tensor(v, shapes[i]));
  const { dispatches, result } = await gpuWorkOf(async () => tf.tidy(() => f(...xs)));
  tf.dispose([...xs, ...result]);
  return dispatches;
}


test('dense kernels on webgpu: output and the gradients of input, weights and bias equal tfjs\'s on cpu, for every activation', async (t) => {
  const { inputs: inputsOf, shapes, upstream } = denseCase(new Rng(3));
  for (const act of Object.keys(DENSE_ACTIVATIONS) as DenseActivation[]) {
    for (const bias of [true, false]) {
      const inputs = inputsOf(bias);
      const names = ['output', 'dx', 'dw', ...(bias ? ['db'] : [])];
      await againstCpu(t, webgpu, `${act}${bias ? '' : ', no bias'}`, names, 1e-5,
        () => valueAndGradients(denseReference(act), inputs, shapes, upstream),
        async () => {
          const f = (xx: T, ww: T, bb?: T): T[] => [denseLayer(tf, xx, ww, bb, act)];
          // tfjs's fused product with bias and activation; tanh, which it lacks, after it.
          assert.equal(await forwardDispatches((xx, ww, bb) => f(xx!, ww!, bb), inputs, shapes), act === 'tanh' ? 2 : 1, `${act}: programs forward`);
          return valueAndGradients((xx, ww, bb) => f(xx!, ww!, bb), inputs, shapes, upstream);
        });
    }
  }
});

test('batch-norm kernels on webgpu: output, moving statistics and the gradients of input, gamma and beta equal tfjs-layers\' on cpu', async (t) => {
  const { inputs, shapes, upstream, reference, ours } = batchNormCase(new Rng(4));
  for (const relu of [true, false]) {
    await againstCpu(t, webgpu, relu ? 'with ReLU' : 'linear', BATCH_NORM_OUTPUTS, 1e-5,
      () => valueAndGradients(reference(relu), inputs, shapes, upstream),
      async () => {
        // The output and each moving statistic: 3 programs.
        assert.equal(await forwardDispatches(ours(relu), inputs, shapes), 3, 'programs forward');
        return valueAndGradients(ours(relu), inputs, shapes, upstream);
      });
  }
});

test('GAN loss kernel on webgpu: [loss, D(x), D(G(z))] and the loss\'s gradient equal tfjs\'s sigmoid cross-entropy on cpu', async (t) => {
  const logits = ganLossLogits(new Rng(9));
  for (const [positives, realLabel] of GAN_LOSS_CASES) {
    await againstCpu(t, webgpu, `${positives} of ${GAN_LOSS_LOGITS} real, labelled ${realLabel}`, ['[loss, D(x), D(G(z))]', 'gradient'], 1e-5, () => ganLossRun(logits, ganLossReference(positives, realLabel)), async () => {
      const counted = await gpuWorkOf(() => ganLossRun(logits, (l) => ganLoss(tf, l, positives, realLabel)));
      assert.equal(counted.dispatches, 2, 'dispatches: the loss and its gradient');
      return counted.result;
    });
  }
});
