import type { Tf, Tensor } from './tf.js';

/**
 * A GAN phase's loss over one batch of logits, with the discriminator's mean
 * outputs, as one op: [loss, mean sigmoid of the first `positives` logits, mean
 * sigmoid of the rest]. loss is the mean sigmoid cross-entropy of the first
 * `positives` logits against `realLabel` (1, or less with one-sided label
 * smoothing) plus that of the rest against label 0 (a part with no logits adds
 * nothing), each term as tfjs's sigmoidCrossEntropy forms it,
 * max(x, 0) − x·z + log(1 + exp(−|x|)). Its gradient follows the loss alone:
 * d loss / dx = (sigmoid(x) − z) / (count of x's part) · dy[0]. The op and its
 * gradient are the same on every backend; each backend that has it registers
 * both kernels (webgpuLoss.ts, compute/nativeFusedKernels.ts).
 */
export const GAN_LOSS_KERNEL = 'TrainerGanLoss';
export const GAN_LOSS_GRAD_KERNEL = 'TrainerGanLossGrad';
export const GAN_LOSS_KERNELS = [GAN_LOSS_KERNEL, GAN_LOSS_GRAD_KERNEL];

export interface GanLossAttrs {
  positives: number;
  realLabel: number;
}

/** The op's attributes for `n` logits, checked. */
export function ganLossAttrs(n: number, attrs: unknown): GanLossAttrs {
  const { positives, realLabel } = attrs as GanLossAttrs;
  if (!Number.isInteger(positives) || positives < 0 || positives > n) throw new RangeError(`${GAN_LOSS_KERNEL}: positives ${positives} for ${n} logits`);
  if (!(realLabel > 0 && realLabel <= 1)) throw new RangeError(`${GAN_LOSS_KERNEL}: real label ${realLabel} outside (0, 1]`);
  return { positives, realLabel };
}

/** Registers the op's gradient, once per process. */
export function registerGanLossGradient(tf: Tf): void {
  if (tf.getGradient(GAN_LOSS_KERNEL)) return;
  tf.registerGradient({
    kernelName: GAN_LOSS_KERNEL,
    inputsToSave: ['logits'],
    gradFunc: (dy, saved, attrs) => ({
      logits: () => tf.engine().runKernel(GAN_LOSS_GRAD_KERNEL, { logits: saved[0]!, dy: dy as Tensor }, attrs as never) as Tensor,
    }),
  });
}

/**
 * [loss, mean D(first `positives`), mean D(rest)] of `logits` as one op; its
 * gradient follows the loss (element 0) only: run the backward pass with
 * dy = [1, 0, 0]. Only where the active backend has the kernel.
 */
export function ganLoss(tf: Tf, logits: Tensor, positives: number, realLabel = 1): Tensor {
  return tf.engine().runKernel(GAN_LOSS_KERNEL, { logits }, { positives, realLabel } as never) as Tensor;
}

/** Mean sigmoid cross-entropy of `logits` against the constant `label` in [0, 1]: tfjs's `losses.sigmoidCrossEntropy(label-filled, logits)`. */
export function sigmoidCrossEntropyMean(tf: Tf, logits: Tensor, label: number): ReturnType<Tf['scalar']> {
  return tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, label), logits) as ReturnType<Tf['scalar']>;
}
