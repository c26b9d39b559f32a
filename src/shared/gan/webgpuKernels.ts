import type { Tf } from './tf.js';
import { installWebgpuFusedAdam } from './webgpuAdam.js';
import { FUSED_ADAM } from '../compute/fusedAdam.js';
import { installWebgpuDense } from './webgpuDense.js';
import { DENSE_KERNEL, DENSE_KERNELS } from './denseOp.js';
import { installWebgpuGanLoss } from './webgpuLoss.js';
import { GAN_LOSS_KERNELS } from './ganLossOp.js';
import { installWebgpuBatchNorm } from './webgpuBatchNorm.js';
import { BATCH_NORM_KERNELS } from './batchNormOp.js';

/** Every kernel the trainer registers for the webgpu backend. */
const KERNELS = [FUSED_ADAM, ...DENSE_KERNELS, ...GAN_LOSS_KERNELS, ...BATCH_NORM_KERNELS];

/**
 * The trainer's own WGSL kernels on the webgpu backend (call after it is
 * registered): `on` registers them all; off removes them, so that the step
 * runs on tfjs's kernels alone (the "before" of an A/B measurement).
 */
export function setWebgpuKernels(tf: Tf, on: boolean): void {
  if (on) {
    installWebgpuFusedAdam(tf);
    installWebgpuDense(tf);
    installWebgpuGanLoss(tf);
    installWebgpuBatchNorm(tf);
    return;
  }
  for (const name of KERNELS) if (tf.getKernel(name, 'webgpu')) tf.unregisterKernel(name, 'webgpu');
}

/** Whether the trainer's kernels run on the active backend. */
export function webgpuKernelsActive(tf: Tf): boolean {
  return tf.getKernel(DENSE_KERNEL, tf.getBackend()) !== undefined;
}
