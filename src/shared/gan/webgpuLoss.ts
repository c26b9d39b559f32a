import type { Tf } from './tf.js';

type Tensor = ReturnType<Tf['tensor']>;
type Scalar = ReturnType<Tf['scalar']>;
type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WebgpuBackend {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

/** Mean binary cross-entropy of logits against a constant label, forward and gradient (webgpu only). */
export const BCE_KERNEL = 'TrainerSigmoidBceMean';
export const BCE_GRAD_KERNEL = 'TrainerSigmoidBceMeanGrad';

/**
 * The loss as tfjs's sigmoidCrossEntropy forms it per element,
 * max(x, 0) − x·z + log(1 + exp(−|x|)), summed in one thread and divided by
 * the count: a batch has at most a few hundred logits, and one dispatch costs
 * more than that loop.
 */
class BceProgram {
  readonly variableNames = ['logits'];
  readonly outputShape = [1];
  readonly shaderKey = 'trainerBceMean';
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number] = [1, 1, 1];
  readonly workgroupSize: [number, number, number] = [1, 1, 1];
  readonly uniforms = 'n : i32, label : f32,';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index == 0) {
          var sum = 0.0;
          for (var i = 0; i < uniforms.n; i++) {
            let x = logits[i];
            sum = sum + ((max(x, 0.0) - x * uniforms.label) + log(1.0 + exp(-abs(x))));
          }
          result[0] = sum / f32(uniforms.n);
        }
      }`;
  }
}

/** d(mean loss)/dx = (sigmoid(x) − z) / n · dy, one thread per logit. */
class BceGradProgram {
  readonly variableNames = ['logits', 'dy'];
  readonly outputShape: number[];
  readonly shaderKey = 'trainerBceMeanGrad';
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly uniforms = 'n : i32, label : f32,';

  constructor(shape: number[], n: number) {
    this.outputShape = shape;
    this.dispatch = [Math.ceil(n / 64), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.n) {
          let x = logits[index];
          result[index] = (1.0 / (1.0 + exp(-x)) - uniforms.label) / f32(uniforms.n) * dy[0];
        }
      }`;
  }
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Registers both loss kernels for the webgpu backend (call after the backend is registered). Idempotent. */
export function installWebgpuBce(tf: Tf): void {
  if (tf.getKernel(BCE_KERNEL, 'webgpu')) return;
  const uniforms = (n: number, label: number): Array<{ type: string; data: number[] }> => [{ type: 'int32', data: [n] }, { type: 'float32', data: [label] }];
  tf.registerKernel({
    kernelName: BCE_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { logits } = inputs as unknown as { logits: TensorInfo };
      const n = size(logits.shape);
      return (backend as unknown as WebgpuBackend).runWebGPUProgram(new BceProgram(), [logits], 'float32', uniforms(n, (attrs as { label: number }).label)) as never;
    },
  });
  tf.registerKernel({
    kernelName: BCE_GRAD_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { logits, dy } = inputs as unknown as { logits: TensorInfo; dy: TensorInfo };
      const n = size(logits.shape);
      return (backend as unknown as WebgpuBackend).runWebGPUProgram(new BceGradProgram(logits.shape, n), [logits, dy], 'float32', uniforms(n, (attrs as { label: number }).label)) as never;
    },
  });
}

/**
 * Mean sigmoid cross-entropy of `logits` against the constant `label` (0 or 1):
 * tfjs's `losses.sigmoidCrossEntropy(label-filled, logits)`. Where the active
 * backend has the fused kernels it is 2 dispatches (forward and gradient)
 * instead of about 25 and no label tensor; elsewhere it is tfjs's own.
 */
export function sigmoidCrossEntropyMean(tf: Tf, logits: Tensor, label: 0 | 1): Scalar {
  if (!tf.getKernel(BCE_KERNEL, tf.getBackend())) {
    return tf.losses.sigmoidCrossEntropy(label === 1 ? tf.onesLike(logits) : tf.zerosLike(logits), logits) as Scalar;
  }
  const engine = tf.engine();
  const loss = tf.customGrad((x, save) => {
    (save as (tensors: Tensor[]) => void)([x as Tensor]);
    return {
      value: (engine.runKernel(BCE_KERNEL, { logits: x as Tensor }, { label }) as Tensor).reshape([]),
      gradFunc: (dy, saved) => engine.runKernel(BCE_GRAD_KERNEL, { logits: saved[0]!, dy: dy as Tensor }, { label }) as Tensor,
    };
  });
  return loss(logits) as Scalar;
}
