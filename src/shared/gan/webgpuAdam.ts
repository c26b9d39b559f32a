import type { Tf } from './tf.js';

/** Kernel name of the whole flat Adam update in one WGSL program (webgpu only). */
export const FLAT_ADAM_KERNEL = 'TrainerFlatAdam';

export interface FlatAdamAttrs {
  /** All as float32 values, computed as tfjs's element-wise Adam computes them. */
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  negLr: number;
}

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WebgpuBackend {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

const WORKGROUP = 64;

/**
 * One thread per parameter: reads value, gradient and both moments, writes
 * [new value ‖ new first moment ‖ new second moment] (a program has one
 * output). The arithmetic is tfjs's AdamOptimizer's, operation by operation
 * (FlatAdam's element-wise path), so it differs from it only where the shader
 * compiler contracts a multiply and an add.
 */
class FlatAdamProgram {
  readonly variableNames = ['param', 'grad', 'mom1', 'mom2'];
  readonly outputShape: number[];
  readonly shaderKey = 'trainerFlatAdam';
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly uniforms = 'n : i32, beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, oneMinusAccBeta1 : f32, oneMinusAccBeta2 : f32, epsilon : f32, negLr : f32,';

  constructor(private readonly n: number) {
    this.outputShape = [3 * n];
    this.dispatch = [Math.ceil(n / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        let n = uniforms.n;
        if (index < n) {
          let g = grad[index];
          let m = mom1[index] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
          let v = mom2[index] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2;
          let mHat = m / uniforms.oneMinusAccBeta1;
          let vHat = v / uniforms.oneMinusAccBeta2;
          result[index] = (mHat / (sqrt(vHat) + uniforms.epsilon)) * uniforms.negLr + param[index];
          result[index + n] = m;
          result[index + 2 * n] = v;
        }
      }`;
  }
}

/**
 * Registers the fused flat Adam update for the webgpu backend (call after the
 * backend is registered). Idempotent.
 */
export function installWebgpuFlatAdam(tf: Tf): void {
  if (tf.getKernel(FLAT_ADAM_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: FLAT_ADAM_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { param, grad, mom1, mom2 } = inputs as unknown as Record<'param' | 'grad' | 'mom1' | 'mom2', TensorInfo>;
      const a = attrs as unknown as FlatAdamAttrs;
      const n = param.shape[0]!;
      const uniforms = [
        { type: 'int32', data: [n] },
        ...[a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.oneMinusAccBeta1, a.oneMinusAccBeta2, a.epsilon, a.negLr].map((x) => ({ type: 'float32', data: [x] })),
      ];
      return (backend as unknown as WebgpuBackend).runWebGPUProgram(new FlatAdamProgram(n), [param, grad, mom1, mom2], 'float32', uniforms) as never;
    },
  });
}
