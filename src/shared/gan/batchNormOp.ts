import type { Tf, Tensor } from './tf.js';

/**
 * The trainer's batch norm in training mode over the last axis, with an
 * optional ReLU, as one op forward, one per moving statistic and one per
 * gradient. tfjs forms the same layer from about ten kernels forward and some
 * forty backward (the moments' gradients through the broadcasts). The op and
 * its gradient are the same on every backend; each backend that has it
 * registers the five kernels (webgpuBatchNorm.ts, compute/nativeFusedKernels.ts).
 */
export const BATCH_NORM_KERNEL = 'TrainerBatchNorm';
/** A moving statistic's update (attribute `which`: mean or variance). */
export const BATCH_NORM_MOVING_KERNEL = 'TrainerBatchNormMoving';
export const BATCH_NORM_GRAD_INPUT_KERNEL = 'TrainerBatchNormGradInput';
export const BATCH_NORM_GRAD_GAMMA_KERNEL = 'TrainerBatchNormGradGamma';
export const BATCH_NORM_GRAD_BETA_KERNEL = 'TrainerBatchNormGradBeta';
export const BATCH_NORM_KERNELS = [BATCH_NORM_KERNEL, BATCH_NORM_MOVING_KERNEL, BATCH_NORM_GRAD_INPUT_KERNEL, BATCH_NORM_GRAD_GAMMA_KERNEL, BATCH_NORM_GRAD_BETA_KERNEL];

export type BatchNormActivation = 'relu' | 'linear';

export interface BatchNormAttrs {
  activation: BatchNormActivation;
  epsilon: number;
  momentum?: number;
}

/** The op's attributes, checked. */
export function batchNormAttrs(a: unknown): BatchNormAttrs {
  const attrs = a as BatchNormAttrs;
  if (attrs.activation !== 'relu' && attrs.activation !== 'linear') throw new Error(`${BATCH_NORM_KERNEL}: unsupported activation ${String(attrs.activation)}`);
  return attrs;
}

/** The moving-statistic kernel's attributes, checked: the op's, and which statistic. */
export function batchNormMovingAttrs(a: unknown): BatchNormAttrs & { which: 'mean' | 'variance' } {
  const attrs = a as BatchNormAttrs & { which: unknown };
  if (attrs.which !== 'mean' && attrs.which !== 'variance') throw new Error(`${BATCH_NORM_MOVING_KERNEL}: unsupported statistic ${String(attrs.which)}`);
  return attrs as BatchNormAttrs & { which: 'mean' | 'variance' };
}

/** Registers the op's gradient, once per process (it is looked up only where the forward kernel ran). */
export function registerBatchNormGradient(tf: Tf): void {
  if (tf.getGradient(BATCH_NORM_KERNEL)) return;
  tf.registerGradient({
    kernelName: BATCH_NORM_KERNEL,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma, y] = saved as Tensor[];
      const grad = (kernel: string) => () => tf.engine().runKernel(kernel, { x: x!, dy: dy as Tensor, y: y!, gamma: gamma! }, attrs as never) as Tensor;
      return { x: grad(BATCH_NORM_GRAD_INPUT_KERNEL), gamma: grad(BATCH_NORM_GRAD_GAMMA_KERNEL), beta: grad(BATCH_NORM_GRAD_BETA_KERNEL) };
    },
  });
}

/**
 * act(batchNorm(x)) in training mode over the last axis with the batch's
 * statistics, and the moving mean and variance as tfjs-layers updates them
 * (momentum as tfjs counts it). Returns the output and the two new moving statistics.
 */
export function batchNormLayer(tf: Tf, x: Tensor, gamma: Tensor, beta: Tensor, movingMean: Tensor, movingVariance: Tensor,
  options: { activation: BatchNormActivation; epsilon: number; momentum: number }): { y: Tensor; movingMean: Tensor; movingVariance: Tensor } {
  const engine = tf.engine();
  const attrs = { activation: options.activation, epsilon: options.epsilon } as never;
  const y = engine.runKernel(BATCH_NORM_KERNEL, { x, gamma, beta }, attrs) as Tensor;
  const update = (m: Tensor, which: 'mean' | 'variance'): Tensor =>
    engine.runKernel(BATCH_NORM_MOVING_KERNEL, { x, moving: m }, { ...options, which } as never) as Tensor;
  return { y, movingMean: update(movingMean, 'mean'), movingVariance: update(movingVariance, 'variance') };
}
