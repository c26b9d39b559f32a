import { LEAKY_ALPHA } from './architecture.js';
import { ACTIVATION_GRAD_KERNEL, DENSE_KERNEL, type DenseActivation, GRAD_BIAS_KERNEL, activationOf, registerDenseGradient } from './denseOp.js';
import type { Tf } from './tf.js';

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WebgpuBackend {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

/**
 * dL/dz from dL/dy and the layer's output y, as tfjs's gradients form it:
 * LeakyRelu where(x > 0, dy, dy·α) (y has x's sign), Relu dy·step(x),
 * Tanh dy·(1 − y²).
 */
function activationGradient(act: Exclude<DenseActivation, 'linear'>): string {
  switch (act) {
    case 'relu':
      return 'select(0.0, d, t > 0.0)';
    case 'leakyRelu':
      return `select(d * ${LEAKY_ALPHA}, d, t > 0.0)`;
    case 'tanh':
      return 'd * (1.0 - t * t)';
  }
}

const WORKGROUP = 64;

/** dz = dy · act′ from the output y, one thread per element. */
class ActivationGradProgram {
  readonly variableNames = ['dy', 'y'];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly uniforms = 'n : i32,';

  constructor(private readonly act: Exclude<DenseActivation, 'linear'>, shape: number[]) {
    this.outputShape = shape;
    this.shaderKey = `trainerActivationGrad_${act}`;
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.n) {
          let d = dy[index];
          let t = y[index];
          result[index] = ${activationGradient(this.act)};
        }
      }`;
  }
}

/** db[c] = Σ_r dz[r, c], one thread per unit: tfjs sums over the first axis as a transpose and a reduction. */
class GradBiasProgram {
  readonly variableNames = ['dz'];
  readonly outputShape: number[];
  readonly shaderKey = 'trainerDenseGradBias';
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly uniforms = 'rows : i32, cols : i32,';

  constructor(cols: number) {
    this.outputShape = [cols];
    this.dispatch = [Math.ceil(cols / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.cols) {
          var sum = 0.0;
          for (var r = 0; r < uniforms.rows; r++) {
            sum = sum + dz[r * uniforms.cols + index];
          }
          result[index] = sum;
        }
      }`;
  }
}

type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> }) => TensorInfo;

/** tfjs's fused product's names for the activations it has (tanh it has not). */
const FUSED_ACTIVATION: Record<DenseActivation, string> = { linear: 'linear', relu: 'relu', leakyRelu: 'leakyrelu', tanh: 'linear' };

/**
 * Registers the dense op's kernels (denseOp.ts) for the webgpu backend, and the op's gradient (call after the
 * backend is registered). Idempotent. Forward, tfjs's fused product with the activation (tanh after it as a
 * second program); backward, one program for the activation's gradient and one for the bias gradient. The
 * products are tfjs's own tiled programs: a product written here would be slower.
 */
export function installWebgpuDense(tf: Tf): void {
  if (tf.getKernel(DENSE_KERNEL, 'webgpu')) return;
  const kernel = (name: string): KernelFunc => {
    const k = tf.getKernel(name, 'webgpu');
    if (!k) throw new Error(`tfjs's webgpu backend has no ${name} kernel`);
    return k.kernelFunc as unknown as KernelFunc;
  };
  const fusedMatMul = kernel('_FusedMatMul');
  const tanh = kernel('Tanh');
  tf.registerKernel({
    kernelName: DENSE_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, b } = inputs as unknown as { x: TensorInfo; w: TensorInfo; b?: TensorInfo };
      const act = activationOf(attrs);
      const z = fusedMatMul({ inputs: { a: x, b: w, ...(b ? { bias: b } : {}) }, backend,
        attrs: { transposeA: false, transposeB: false, activation: FUSED_ACTIVATION[act], leakyreluAlpha: LEAKY_ALPHA } });
      if (act !== 'tanh') return z as never;
      const y = tanh({ inputs: { x: z }, backend, attrs: {} });
      (backend as { disposeData(id: object): void }).disposeData(z.dataId);
      return y as never;
    },
  });
  tf.registerKernel({
    kernelName: ACTIVATION_GRAD_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, y } = inputs as unknown as Record<'dy' | 'y', TensorInfo>;
      const act = activationOf(attrs);
      if (act === 'linear') throw new Error(`${ACTIVATION_GRAD_KERNEL}: nothing to do for a linear layer`);
      const n = dy.shape.reduce((a, c) => a * c, 1);
      return (backend as WebgpuBackend).runWebGPUProgram(new ActivationGradProgram(act, dy.shape), [dy, y], 'float32', [{ type: 'int32', data: [n] }]) as never;
    },
  });
  tf.registerKernel({
    kernelName: GRAD_BIAS_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { dz } = inputs as unknown as { dz: TensorInfo };
      const [rows, cols] = dz.shape as [number, number];
      return (backend as WebgpuBackend).runWebGPUProgram(new GradBiasProgram(cols), [dz], 'float32', [{ type: 'int32', data: [rows] }, { type: 'int32', data: [cols] }]) as never;
    },
  });
  registerDenseGradient(tf);
}
