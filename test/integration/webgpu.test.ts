/**
 * The WebGPU path on whatever Vulkan driver this host has: on a CPU-only host,
 * Mesa's lavapipe (>= 24; scripts/setupWebgpu.sh installs it). The driver is
 * found as any Vulkan program finds it: VK_ICD_FILENAMES and LD_LIBRARY_PATH
 * when set, else the system's. Without a WebGPU adapter these tests fail.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../../src/coordinator/summary.js';
import type { Arch, TrainConfig } from '../../src/shared/config.js';
import { loadTrainingSet } from '../../src/shared/data/dataset.js';
import { initialWeights, trainableSize } from '../../src/shared/gan/architecture.js';
import { archSpecs } from '../../src/shared/gan/archs.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { GanReplica } from '../../src/shared/gan/replica.js';
import { tf } from '../../src/shared/gan/tf.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';
import { jsonLines, runCli, tempDir } from '../helpers.js';

const BARE_STEP = fileURLToPath(new URL('../../scripts/bareReplicaStep.js', import.meta.url));
const NO_DRIVER = 'needs a WebGPU adapter: on a host without a GPU, Mesa >= 24 lavapipe (scripts/setupWebgpu.sh), or VK_ICD_FILENAMES and LD_LIBRARY_PATH naming one';

/**
 * Dispatches and read-backs of one training step (both phases, both updates),
 * as counted at the webgpu backend. They do not depend on the batch size
 * (measured: the same at 4, 16 and 64). Any change to the step's kernels moves
 * them: update these figures with the change, and docs with them. On tfjs's
 * kernels alone (BackendOptions.webgpuKernels false): MLP 245, DCGAN 414, and
 * 4 read-backs (gradients and losses apart); with the Adam and loss kernels
 * only, MLP 147. (The DCGAN's were 115 and 374 before its generator's 7×7
 * convolution; `node dist/scripts/webgpuDispatches.js dcgan` counts them.)
 */
const GPU_WORK_PER_STEP: Record<Arch, { dispatches: number; readbacks: number }> = {
  mlp: { dispatches: 67, readbacks: 2 },
  dcgan: { dispatches: 132, readbacks: 2 },
};

/**
 * Bound on ‖g_webgpu − g_cpu‖₂ / ‖g_cpu‖₂ per phase. Both compute in float32;
 * they differ in summation order (tiled GPU reductions against sequential
 * loops) and in the transcendental functions' last bits, so the error is
 * rounding grown through the layers. Measured on Mesa 25.0.7 lavapipe with
 * the trainer's kernels (MLP batch 16, DCGAN batch 4), gradients: MLP D
 * 3.3e-7, G 4.3e-7; DCGAN D 6.1e-7, G 5.4e-7; moving statistics ≤ 7.5e-9
 * (max-abs relative at most 1.5e-6). The bound is about 8× the largest, a
 * few dozen float32 roundings (2^-24 ≈ 6e-8): room for another driver's
 * reduction order, none for a wrong kernel (a wrong gradient is off by O(1)).
 */
const GRADIENT_TOLERANCE = 5e-6;

async function webgpu(): Promise<void> {
  await assert.doesNotReject(selectBackend('webgpu', silentLogger), NO_DRIVER);
}

function config(arch: Arch, batchSize: number): TrainConfig {
  return {
    arch, latentDim: 100, batchSize, world: 1, steps: 1, stepsPerEpoch: 16, lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, seed: 7, allreduce: 'ring', checkEvery: 50,
    timeoutMs: 10_000, sampleEvery: 0, timeline: false, checkpointEvery: 0, heartbeatMs: 1000, workerTimeoutMs: 10_000, minWorkers: 1, rejoinTimeoutMs: 0, evalEvery: 0,
  };
}

/** ‖a − b‖₂ / ‖b‖₂ and max |a − b| / max |b|, in float64. */
function errors(a: Float32Array, b: Float32Array): { norm: number; max: number } {
  assert.equal(a.length, b.length);
  let diff2 = 0;
  let ref2 = 0;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!;
    diff2 += d * d;
    ref2 += b[i]! * b[i]!;
    maxDiff = Math.max(maxDiff, Math.abs(d));
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
  }
  return { norm: Math.sqrt(diff2 / ref2), max: maxDiff / maxRef };
}

for (const [arch, batch] of [['mlp', 16], ['dcgan', 4]] as const) {
  test(`--backend webgpu: 2 workers train the ${arch} to identical replicas`, async () => {
    const out = tempDir(`webgpu-${arch}`);
    const r = await runCli(['coordinator', '--workers', '2', '--spawn', '--backend', 'webgpu', '--arch', arch, '--steps', '3', '--limit', '256', '--batch-size', String(batch),
      '--check-every', '1', '--sample-every', '0', '--timeout', '300', '--port', '0', '--out', out, '--log-format', 'json'], 600_000);
    assert.equal(r.code, 0, `${NO_DRIVER}\n${r.stderr.slice(-3000)}`);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    assert.equal(summary.backend, 'webgpu');
    const finished = jsonLines(r.stderr + r.stdout).filter((l) => l.msg === 'training finished' && l.component === 'worker');
    assert.deepEqual(finished.map((l) => l.hash), [summary.replicaHash, summary.replicaHash]);
    // The workers counted their GPU work every step; the last step's is the pinned figure.
    for (const l of finished) assert.deepEqual(l.lastStepGpuWork, GPU_WORK_PER_STEP[arch]);
  });
}

for (const [arch, batch] of [['mlp', 16], ['dcgan', 4]] as const) {
  test(`${arch} step-1 gradients on webgpu equal the cpu backend's within ${GRADIENT_TOLERANCE} (norm-wise relative, both phases)`, async (t) => {
    const c = config(arch, batch);
    const specs = archSpecs(arch, c.latentDim);
    const rng = new Rng(11);
    const z = Float32Array.from({ length: batch * c.latentDim }, () => rng.normal());
    const images = loadTrainingSet(undefined, batch).images.subarray(0, batch * 784);
    const gradients = async (): Promise<Float32Array[]> => {
      const r = new GanReplica(tf, c);
      try {
        r.setWeights(initialWeights(specs.generator, c.seed), initialWeights(specs.discriminator, c.seed));
        return [(await r.discriminatorGradients(images, z)).grads, (await r.generatorGradients(z)).grads];
      } finally {
        r.dispose();
      }
    };
    await selectBackend('cpu', silentLogger);
    const cpu = await gradients();
    await webgpu();
    const gpu = await gradients();
    // Each buffer holds the phase's gradients, then the moving statistics after its forward passes
    // (values near 1, which would swamp the gradients' error in one norm): compared apart.
    const phases = [['discriminator', trainableSize(specs.discriminator)], ['generator', trainableSize(specs.generator)]] as const;
    for (const [i, [which, params]] of phases.entries()) {
      const compared = [['gradients', 0, params], ['moving statistics', params, cpu[i]!.length]] as const;
      // The MLP has no moving statistics: only non-empty parts are compared.
      for (const [what, from, to] of compared.filter(([, from, to]) => to > from)) {
        const e = errors(gpu[i]!.subarray(from, to), cpu[i]!.subarray(from, to));
        t.diagnostic(`${arch} ${which} ${what}: norm-wise relative error ${e.norm.toExponential(2)}, max-abs relative ${e.max.toExponential(2)}`);
        assert.ok(e.norm < GRADIENT_TOLERANCE, `${arch} ${which} ${what}: norm-wise relative error ${e.norm}`);
      }
    }
  });
}

test('GPU work per training step at batch 64 is pinned for both GANs', () => {
  for (const arch of ['mlp', 'dcgan'] as const) {
    // One step of a 1-worker run, nothing around it; the counts do not depend on the step.
    const r = spawnSync(process.execPath, [BARE_STEP, arch, 'webgpu', '64', '0', '1'], { encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, `${NO_DRIVER}\n${r.stderr.slice(-2000)}`);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { backend: string; gpuWorkPerStep: Array<{ dispatches: number; readbacks: number }> };
    assert.equal(result.backend, 'webgpu');
    assert.deepEqual(result.gpuWorkPerStep, [GPU_WORK_PER_STEP[arch]], `${arch}: dispatches and read-backs per step`);
  }
});
