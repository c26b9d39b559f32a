import type { Activation } from './architecture.js';
import type { Tf, Tensor } from './tf.js';

/**
 * The trainer's dense layer as one op: act(x·w + b) forward; backward, the
 * activation's gradient once (from the output), tfjs's matrix products for the
 * input and weight gradients and one kernel for the bias gradient. tfjs runs
 * the same layer as a product and an activation, and backward as three kernels
 * for the activation's gradient and two (a transpose and a reduction) for the
 * bias's. The op and its gradient are the same on every backend; each backend
 * that has it registers the three kernels (webgpuDense.ts, compute/nativeFusedKernels.ts).
 */
export const DENSE_KERNEL = 'TrainerDense';
/** dz = dy · act′, from dy and the layer's output y. */
export const ACTIVATION_GRAD_KERNEL = 'TrainerActivationGrad';
/** db[c] = Σ_r dz[r, c]. */
export const GRAD_BIAS_KERNEL = 'TrainerDenseGradBias';
export const DENSE_KERNELS = [DENSE_KERNEL, ACTIVATION_GRAD_KERNEL, GRAD_BIAS_KERNEL];

export type DenseActivation = Activation | 'linear';
const ACTIVATIONS: readonly DenseActivation[] = ['linear', 'relu', 'leakyRelu', 'tanh'];

/** The op's activation attribute, checked. */
export function activationOf(attrs: unknown): DenseActivation {
  const act = (attrs as { activation?: DenseActivation }).activation ?? 'linear';
  if (!ACTIVATIONS.includes(act)) throw new Error(`${DENSE_KERNEL}: unknown activation ${act}`);
  return act;
}

/**
 * Registers the op's gradient, once per process (it is looked up only where the
 * forward kernel ran). One function per input, so tfjs computes only the ones
 * it needs: no input gradient for a model's first layer.
 */
export function registerDenseGradient(tf: Tf): void {
  if (tf.getGradient(DENSE_KERNEL)) return;
  tf.registerGradient({
    kernelName: DENSE_KERNEL,
    inputsToSave: ['x', 'w'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, w, y] = saved as Tensor[];
      // Every gradient starts from dz: formed once, here, not in each of them.
      const dz = activationOf(attrs) === 'linear' ? dy as Tensor : tf.engine().runKernel(ACTIVATION_GRAD_KERNEL, { dy: dy as Tensor, y: y! }, attrs as never) as Tensor;
      return {
        x: () => tf.matMul(dz, w!, false, true),
        w: () => tf.matMul(x!, dz, true, false),
        b: () => tf.engine().runKernel(GRAD_BIAS_KERNEL, { dz }, {}) as Tensor,
      };
    },
  });
}

/** act(x·w + b) as one op (see DENSE_KERNEL), where the active backend has the kernel (see hasDenseOp). */
export function denseLayer(tf: Tf, x: Tensor, w: Tensor, b: Tensor | undefined, activation: DenseActivation): Tensor {
  return tf.engine().runKernel(DENSE_KERNEL, b ? { x, w, b } : { x, w }, { activation } as never) as Tensor;
}

export function hasDenseOp(tf: Tf): boolean {
  return tf.getKernel(DENSE_KERNEL, tf.getBackend()) !== undefined;
}
