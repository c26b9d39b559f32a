import type { Tf } from './tf.js';
import { FUSED_ADAM, type FusedAdamAttrs } from '../compute/fusedAdam.js';

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WebgpuBackend {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

const WORKGROUP = 64;
const OUTPUTS = ['value', 'm', 'v'] as const;

/**
 * One of FusedAdam's three outputs, one thread per parameter. A WebGPU program
 * has one output, so the kernel runs three, each forming m and v again (a few
 * operations per parameter: cheaper than a dispatch to slice a joint output).
 * The arithmetic is tfjs's AdamOptimizer's, operation by operation (FlatAdam's
 * element-wise path), with 1 − accBeta formed in float32 from the tensors as
 * that path forms it.
 */
/** Each output's program binds only what it reads: a bound input the shader does not use is an error. */
const READS = { value: ['param', 'grad', 'mom1', 'mom2', 'accBeta1', 'accBeta2'], m: ['grad', 'mom1'], v: ['grad', 'mom2'] } as const;

class FusedAdamProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly uniforms = 'n : i32, beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, epsilon : f32, negLr : f32,';

  constructor(private readonly output: (typeof OUTPUTS)[number], shape: number[], n: number) {
    this.variableNames = [...READS[output]];
    this.outputShape = shape;
    this.shaderKey = `trainerFusedAdam_${output}`;
    this.dispatch = [Math.ceil(n / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    const m = 'let m = mom1[index] * uniforms.beta1 + g * uniforms.oneMinusBeta1;';
    const v = 'let v = mom2[index] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2;';
    const body = {
      value: `${m}
          ${v}
          let mHat = m / (1.0 - accBeta1[0]);
          let vHat = v / (1.0 - accBeta2[0]);
          result[index] = (mHat / (sqrt(vHat) + uniforms.epsilon)) * uniforms.negLr + param[index];`,
      m: `${m}
          result[index] = m;`,
      v: `${v}
          result[index] = v;`,
    }[this.output];
    return `
      fn main(index : i32) {
        if (index < uniforms.n) {
          let g = grad[index];
          ${body}
        }
      }`;
  }
}

/**
 * Registers FusedAdam (compute/fusedAdam.ts: its contract, the native
 * backend's other implementation) for the webgpu backend; call after the
 * backend is registered. Idempotent.
 */
export function installWebgpuFusedAdam(tf: Tf): void {
  if (tf.getKernel(FUSED_ADAM, 'webgpu')) return;
  tf.registerKernel({
    kernelName: FUSED_ADAM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { value, gradient, m, v, accBeta1, accBeta2 } = inputs as unknown as Record<'value' | 'gradient' | 'm' | 'v' | 'accBeta1' | 'accBeta2', TensorInfo>;
      const { beta1, beta2, lr, epsilon } = attrs as unknown as FusedAdamAttrs;
      const n = value.shape.reduce((a, b) => a * b, 1);
      // Float32 scalars as tfjs forms them from these numbers (1 − beta in float64, then rounded).
      const uniforms = [{ type: 'int32', data: [n] }, ...[beta1, 1 - beta1, beta2, 1 - beta2, epsilon, -lr].map((x) => ({ type: 'float32', data: [x] }))];
      const tensors = { param: value, grad: gradient, mom1: m, mom2: v, accBeta1, accBeta2 };
      return OUTPUTS.map((output) => (backend as unknown as WebgpuBackend).runWebGPUProgram(new FusedAdamProgram(output, value.shape, n),
        READS[output].map((name) => tensors[name]), 'float32', uniforms)) as never;
    },
  });
}
