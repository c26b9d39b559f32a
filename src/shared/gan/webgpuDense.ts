import type { Activation } from './architecture.js';
import { LEAKY_ALPHA } from './architecture.js';
import type { Tf, Tensor } from './tf.js';

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WebgpuBackend {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

/**
 * A dense layer with its activation as one kernel (two for tanh) forward and,
 * backward, the activation's gradient once, tfjs's matrix products for the
 * input and weight gradients (their transposes are read in place, not run) and
 * one program for the bias gradient; webgpu only. The products are tfjs's own
 * tiled programs: a product written here would be slower. tfjs runs the same
 * layer as a product, an activation, and backward three kernels for the
 * activation's gradient and two (a transpose and a reduction) for the bias's.
 */
export const DENSE_KERNEL = 'TrainerDense';
const ACTIVATION_GRAD = 'TrainerActivationGrad';
const GRAD_BIAS = 'TrainerDenseGradBias';
export const DENSE_KERNELS = [DENSE_KERNEL, ACTIVATION_GRAD, GRAD_BIAS];

export type DenseActivation = Activation | 'linear';
const ACTIVATIONS: readonly DenseActivation[] = ['linear', 'relu', 'leakyRelu', 'tanh'];

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

function activationOf(attrs: unknown): DenseActivation {
  const act = (attrs as { activation?: DenseActivation }).activation ?? 'linear';
  if (!ACTIVATIONS.includes(act)) throw new Error(`${DENSE_KERNEL}: unknown activation ${act}`);
  return act;
}

/** tfjs's fused product's names for the activations it has (tanh it has not). */
const FUSED_ACTIVATION: Record<DenseActivation, string> = { linear: 'linear', relu: 'relu', leakyRelu: 'leakyrelu', tanh: 'linear' };

/**
 * Registers the dense kernels for the webgpu backend and the forward kernel's
 * gradient (call after the backend is registered). Idempotent. The gradient
 * gives one function per input, so tfjs computes only the ones it needs: no
 * input gradient for a model's first layer.
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
    kernelName: ACTIVATION_GRAD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, y } = inputs as unknown as Record<'dy' | 'y', TensorInfo>;
      const act = activationOf(attrs);
      if (act === 'linear') throw new Error(`${ACTIVATION_GRAD}: nothing to do for a linear layer`);
      const n = dy.shape.reduce((a, c) => a * c, 1);
      return (backend as WebgpuBackend).runWebGPUProgram(new ActivationGradProgram(act, dy.shape), [dy, y], 'float32', [{ type: 'int32', data: [n] }]) as never;
    },
  });
  tf.registerKernel({
    kernelName: GRAD_BIAS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { dz } = inputs as unknown as { dz: TensorInfo };
      const [rows, cols] = dz.shape as [number, number];
      return (backend as WebgpuBackend).runWebGPUProgram(new GradBiasProgram(cols), [dz], 'float32', [{ type: 'int32', data: [rows] }, { type: 'int32', data: [cols] }]) as never;
    },
  });
  // The gradient is registered once per process; it is looked up only where the forward kernel ran.
  tf.registerGradient({
    kernelName: DENSE_KERNEL,
    inputsToSave: ['x', 'w'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, w, y] = saved as Tensor[];
      // Every gradient starts from dz: formed once, here, not in each of them.
      const dz = activationOf(attrs) === 'linear' ? dy as Tensor : tf.engine().runKernel(ACTIVATION_GRAD, { dy: dy as Tensor, y: y! }, attrs as never) as Tensor;
      return {
        x: () => tf.matMul(dz, w!, false, true),
        w: () => tf.matMul(x!, dz, true, false),
        b: () => tf.engine().runKernel(GRAD_BIAS, { dz }, {}) as Tensor,
      };
    },
  });
}

/** act(x·w + b) (see DENSE_KERNEL), where the active backend has the kernel (see hasWebgpuDense). */
export function denseLayer(tf: Tf, x: Tensor, w: Tensor, b: Tensor | undefined, activation: DenseActivation): Tensor {
  return tf.engine().runKernel(DENSE_KERNEL, b ? { x, w, b } : { x, w }, { activation } as never) as Tensor;
}

export function hasWebgpuDense(tf: Tf): boolean {
  return tf.getKernel(DENSE_KERNEL, tf.getBackend()) !== undefined;
}
