/**
 * The trainer's dense, GAN-loss and batch-norm ops on the native CPU path (compute/nativeFusedKernels.ts: OpenBLAS and the
 * addon on the wasm heap) against tfjs's own kernels on the cpu backend, and native MLP and DCGAN replicas running
 * their phases on them. Fails where the addon does not load (the test set-up builds it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { tf } from '../../src/shared/gan/tf.js';
import { ganLoss } from '../../src/shared/gan/ganLossOp.js';
import { DENSE_KERNEL, type DenseActivation, denseLayer } from '../../src/shared/gan/denseOp.js';
import { GAN_LOSS_KERNEL } from '../../src/shared/gan/ganLossOp.js';
import { initialWeights, trainableSize } from '../../src/shared/gan/architecture.js';
import { BATCH_NORM_KERNEL } from '../../src/shared/gan/batchNormOp.js';
import { archSpecs } from '../../src/shared/gan/archs.js';
import { GanReplica } from '../../src/shared/gan/replica.js';
import { loadTrainingSet } from '../../src/shared/data/dataset.js';
import type { Arch } from '../../src/shared/config.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Rng } from '../../src/shared/rng.js';
import { maxRelativeError } from '../fixtures/buffers.js';
import { trainConfig } from '../fixtures/trainConfig.js';
import { BATCH_NORM_OUTPUTS, DENSE_ACTIVATIONS, againstCpu, batchNormCase, GAN_LOSS_CASES, GAN_LOSS_LOGITS, type T, denseCase, denseReference, ganLossLogits, ganLossReference, ganLossRun, valueAndGradients } from '../fixtures/opChecks.js';

const NO_ADDON = 'the native backend must load here: the test set-up builds the addon (scripts/testSetup.sh)';

async function native(): Promise<void> {
  await assert.doesNotReject(selectBackend('native', silentLogger), NO_ADDON);
}


test('dense op on native: output and the gradients of input, weights and bias equal tfjs\'s on cpu, for every activation', async (t) => {
  const { inputs: inputsOf, shapes, upstream } = denseCase(new Rng(3));
  for (const act of Object.keys(DENSE_ACTIVATIONS) as DenseActivation[]) {
    for (const bias of [true, false]) {
      const inputs = inputsOf(bias);
      const names = ['output', 'dx', 'dw', ...(bias ? ['db'] : [])];
      await againstCpu(t, native, `${act}${bias ? '' : ', no bias'}`, names, 1e-5,
        () => valueAndGradients(denseReference(act), inputs, shapes, upstream),
        async () => {
          assert.ok(tf.getKernel(DENSE_KERNEL, tf.getBackend()), 'the native backend has the dense op');
          return valueAndGradients((xx, ww, bb) => [denseLayer(tf, xx!, ww!, bb, act)], inputs, shapes, upstream);
        });
    }
  }
});

test('batch-norm op on native: output, moving statistics and the gradients of input, gamma and beta equal tfjs-layers\' on cpu', async (t) => {
  const { inputs, shapes, upstream, reference, ours } = batchNormCase(new Rng(4));
  for (const relu of [true, false]) {
    await againstCpu(t, native, relu ? 'with ReLU' : 'linear', BATCH_NORM_OUTPUTS, 1e-5,
      () => valueAndGradients(reference(relu), inputs, shapes, upstream), () => valueAndGradients(ours(relu), inputs, shapes, upstream));
  }
});

test('GAN loss op on native: [loss, D(x), D(G(z))] and the loss\'s gradient equal tfjs\'s sigmoid cross-entropy on cpu', async (t) => {
  const logits = ganLossLogits(new Rng(9));
  for (const [positives, realLabel] of GAN_LOSS_CASES) {
    await againstCpu(t, native, `${positives} of ${GAN_LOSS_LOGITS} real, labelled ${realLabel}`, ['[loss, D(x), D(G(z))]', 'gradient'], 1e-5,
      () => ganLossRun(logits, ganLossReference(positives, realLabel)), () => ganLossRun(logits, (l: T) => ganLoss(tf, l, positives, realLabel)));
  }
});

/** Norm-wise relative error of a against the reference b. */
function normError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff2 = 0;
  let ref2 = 0;
  for (let i = 0; i < b.length; i++) {
    diff2 += (a[i]! - b[i]!) ** 2;
    ref2 += b[i]! ** 2;
  }
  return Math.sqrt(diff2 / ref2);
}

/** A replica's step-1 gradients of both phases on the active backend, with the kernels each phase ran. */
async function stepGradients(arch: Arch, batch: number): Promise<{ grads: Float32Array[]; losses: number[]; kernels: Set<string> }> {
  const c = trainConfig({ arch, batchSize: batch, latentDim: 100 });
  const specs = archSpecs(arch, c.latentDim);
  const rng = new Rng(11);
  const z = Float32Array.from({ length: batch * c.latentDim }, () => rng.normal());
  const images = loadTrainingSet(undefined, batch).images.subarray(0, batch * 784);
  const r = new GanReplica(tf, c);
  try {
    r.setWeights(initialWeights(specs.generator, c.seed), initialWeights(specs.discriminator, c.seed));
    let d: Awaited<ReturnType<GanReplica['discriminatorGradients']>> | undefined;
    let g: Awaited<ReturnType<GanReplica['generatorGradients']>> | undefined;
    const profile = await tf.profile(async () => {
      d = await r.discriminatorGradients(images, z);
      g = await r.generatorGradients(z);
    });
    return { grads: [d!.grads.slice(), g!.grads.slice()], losses: [d!.loss, d!.dReal, d!.dFake, g!.loss], kernels: new Set(profile.kernelNames) };
  } finally {
    r.dispose();
  }
}

for (const [arch, batch] of [['mlp', 16], ['dcgan', 4]] as const) {
  test(`a native ${arch} replica runs both phases on the trainer's ops, and its step-1 gradients and losses equal the cpu backend's (tfjs-layers) within 5e-6`, async (t) => {
    await selectBackend('cpu', silentLogger);
    const cpu = await stepGradients(arch, batch);
    assert.ok(!cpu.kernels.has(DENSE_KERNEL), 'the cpu backend runs tfjs-layers');
    await native();
    const ours = await stepGradients(arch, batch);
    // Fails if the native path fell back to tfjs-layers' graph of small kernels.
    const expected = [DENSE_KERNEL, GAN_LOSS_KERNEL, ...(arch === 'dcgan' ? [BATCH_NORM_KERNEL] : [])];
    for (const k of expected) assert.ok(ours.kernels.has(k), `native ran ${k}`);
    const specs = archSpecs(arch, 100);
    // Each buffer holds the phase's gradients, then the moving statistics after its forward passes (values near 1): compared apart.
    const phases = [['discriminator', trainableSize(specs.discriminator)], ['generator', trainableSize(specs.generator)]] as const;
    for (const [i, [which, params]] of phases.entries()) {
      const parts = [['gradients', 0, params], ['moving statistics', params, cpu.grads[i]!.length]] as const;
      for (const [what, from, to] of parts.filter(([, f, e]) => e > f)) {
        const e = normError(ours.grads[i]!.subarray(from, to), cpu.grads[i]!.subarray(from, to));
        t.diagnostic(`${arch} ${which} ${what}: norm-wise relative error ${e.toExponential(2)}`);
        assert.ok(e < 5e-6, `${which} ${what}: ${e}`);
      }
    }
    const lossErr = maxRelativeError(ours.losses, cpu.losses);
    t.diagnostic(`losses [dLoss, D(x), D(G(z)), gLoss]: ${ours.losses.map((v) => v.toFixed(6)).join(', ')} (max-abs relative ${lossErr.toExponential(2)})`);
    assert.ok(lossErr < 1e-5, `losses: ${ours.losses} against ${cpu.losses}`);
  });
}
