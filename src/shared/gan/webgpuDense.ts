import type { Activation } from './architecture.js';
import { LEAKY_ALPHA } from './architecture.js';
import type { Tf } from './tf.js';

type Tensor = ReturnType<Tf['tensor']>;
type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WebgpuBackend {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: string, uniforms: Array<{ type: string; data: number[] }>): TensorInfo;
}

/**
 * A dense layer with its activation as one program forward and one program per
 * gradient (input, weights, bias), webgpu only. tfjs runs the same layer as a
 * fused product, an activation, and backward a product and a transpose per
 * operand, a reduction for the bias and three kernels for the activation's
 * gradient.
 */
export const DENSE_KERNEL = 'TrainerDense';
const GRAD_INPUT = 'TrainerDenseGradInput';
const GRAD_WEIGHTS = 'TrainerDenseGradWeights';
const GRAD_BIAS = 'TrainerDenseGradBias';
export const DENSE_KERNELS = [DENSE_KERNEL, GRAD_INPUT, GRAD_WEIGHTS, GRAD_BIAS];

export type DenseActivation = Activation | 'linear';
const ACTIVATIONS: readonly DenseActivation[] = ['linear', 'relu', 'leakyRelu', 'tanh'];

/** y = act(z), as tfjs's kernels compute it. */
function activate(act: DenseActivation, z: string): string {
  switch (act) {
    case 'linear':
      return z;
    case 'relu':
      return `max(${z}, 0.0)`;
    case 'leakyRelu':
      return `select(${LEAKY_ALPHA} * ${z}, ${z}, ${z} >= 0.0)`;
    case 'tanh':
      // tfjs's webgpu Tanh: WGSL's own tanh overflows to NaN for large |z| on some drivers.
      return `sign(${z}) * (1.0 - exp(-2.0 * abs(${z}))) / (1.0 + exp(-2.0 * abs(${z})))`;
  }
}

/**
 * dL/dz from dL/dy and the layer's output y, as tfjs's gradients form it:
 * LeakyRelu where(x > 0, dy, dy·α) (y has x's sign), Relu dy·step(x),
 * Tanh dy·(1 − y²).
 */
function activationGradient(act: DenseActivation): string {
  switch (act) {
    case 'linear':
      return 'fn dz(i : i32) -> f32 { return dy[i]; }';
    case 'relu':
      return 'fn dz(i : i32) -> f32 { return select(0.0, dy[i], y[i] > 0.0); }';
    case 'leakyRelu':
      return `fn dz(i : i32) -> f32 { let d = dy[i]; return select(d * ${LEAKY_ALPHA}, d, y[i] > 0.0); }`;
    case 'tanh':
      return 'fn dz(i : i32) -> f32 { let t = y[i]; return dy[i] * (1.0 - t * t); }';
  }
}

const WORKGROUP = 64;

/** A gradient program's inputs: dy, the layer's output where the activation's gradient reads it (a binding the shader does not use is an error), then `operand`. */
function gradientInputs(act: DenseActivation, operand?: string): string[] {
  return ['dy', ...(act === 'linear' ? [] : ['y']), ...(operand ? [operand] : [])];
}

/** One thread per output element, flat; uniforms rows (batch), inner (inputs), cols (units). */
abstract class DenseProgram {
  abstract readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly uniforms = 'rows : i32, inner : i32, cols : i32,';

  constructor(name: string, protected readonly act: DenseActivation, outputShape: number[]) {
    this.outputShape = outputShape;
    this.shaderKey = `${name}_${act}`;
    this.dispatch = [Math.ceil(outputShape.reduce((a, b) => a * b, 1) / WORKGROUP), 1, 1];
  }

  abstract getUserCode(): string;
}

/** y[r, c] = act(Σ_k x[r, k]·w[k, c] + b[c]). */
class ForwardProgram extends DenseProgram {
  readonly variableNames: string[];

  constructor(act: DenseActivation, rows: number, cols: number, private readonly bias: boolean) {
    super(`trainerDense${bias ? 'Bias' : ''}`, act, [rows, cols]);
    this.variableNames = bias ? ['x', 'w', 'b'] : ['x', 'w'];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.rows * uniforms.cols) {
          let r = index / uniforms.cols;
          let c = index - r * uniforms.cols;
          var sum = 0.0;
          for (var k = 0; k < uniforms.inner; k++) {
            sum = sum + x[r * uniforms.inner + k] * w[k * uniforms.cols + c];
          }
          let z = sum${this.bias ? ' + b[c]' : ''};
          result[index] = ${activate(this.act, 'z')};
        }
      }`;
  }
}

/** dx[r, k] = Σ_c dz[r, c]·w[k, c]. */
class GradInputProgram extends DenseProgram {
  readonly variableNames = gradientInputs(this.act, 'w');

  constructor(act: DenseActivation, rows: number, inner: number) {
    super('trainerDenseGradInput', act, [rows, inner]);
  }

  getUserCode(): string {
    return `
      ${activationGradient(this.act)}
      fn main(index : i32) {
        if (index < uniforms.rows * uniforms.inner) {
          let r = index / uniforms.inner;
          let k = index - r * uniforms.inner;
          var sum = 0.0;
          for (var c = 0; c < uniforms.cols; c++) {
            sum = sum + dz(r * uniforms.cols + c) * w[k * uniforms.cols + c];
          }
          result[index] = sum;
        }
      }`;
  }
}

/** dw[k, c] = Σ_r x[r, k]·dz[r, c]. */
class GradWeightsProgram extends DenseProgram {
  readonly variableNames = gradientInputs(this.act, 'x');

  constructor(act: DenseActivation, inner: number, cols: number) {
    super('trainerDenseGradWeights', act, [inner, cols]);
  }

  getUserCode(): string {
    return `
      ${activationGradient(this.act)}
      fn main(index : i32) {
        if (index < uniforms.inner * uniforms.cols) {
          let k = index / uniforms.cols;
          let c = index - k * uniforms.cols;
          var sum = 0.0;
          for (var r = 0; r < uniforms.rows; r++) {
            sum = sum + x[r * uniforms.inner + k] * dz(r * uniforms.cols + c);
          }
          result[index] = sum;
        }
      }`;
  }
}

/** db[c] = Σ_r dz[r, c]. */
class GradBiasProgram extends DenseProgram {
  readonly variableNames = gradientInputs(this.act);

  constructor(act: DenseActivation, cols: number) {
    super('trainerDenseGradBias', act, [cols]);
  }

  getUserCode(): string {
    return `
      ${activationGradient(this.act)}
      fn main(index : i32) {
        if (index < uniforms.cols) {
          var sum = 0.0;
          for (var r = 0; r < uniforms.rows; r++) {
            sum = sum + dz(r * uniforms.cols + index);
          }
          result[index] = sum;
        }
      }`;
  }
}

function gradientTensors(act: DenseActivation, dy: TensorInfo, y: TensorInfo, operand?: TensorInfo): TensorInfo[] {
  return [dy, ...(act === 'linear' ? [] : [y]), ...(operand ? [operand] : [])];
}

type DenseInputs = { x: TensorInfo; w: TensorInfo; b?: TensorInfo };

function dims(x: TensorInfo, w: TensorInfo): Array<{ type: string; data: number[] }> {
  return [x.shape[0]!, w.shape[0]!, w.shape[1]!].map((n) => ({ type: 'int32', data: [n] }));
}

function activationOf(attrs: unknown): DenseActivation {
  const act = (attrs as { activation?: DenseActivation }).activation ?? 'linear';
  if (!ACTIVATIONS.includes(act)) throw new Error(`${DENSE_KERNEL}: unknown activation ${act}`);
  return act;
}

/**
 * Registers the dense kernels for the webgpu backend and the forward kernel's
 * gradient (call after the backend is registered). Idempotent. The gradient
 * gives one function per input, so tfjs computes only the ones it needs: no
 * input gradient for a model's first layer.
 */
export function installWebgpuDense(tf: Tf): void {
  if (tf.getKernel(DENSE_KERNEL, 'webgpu')) return;
  // The gradient is registered once per process; it is looked up only where the forward kernel ran.
  const run = (backend: unknown, program: object, inputs: TensorInfo[], uniforms: Array<{ type: string; data: number[] }>): never =>
    (backend as WebgpuBackend).runWebGPUProgram(program, inputs, 'float32', uniforms) as never;
  tf.registerKernel({
    kernelName: DENSE_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, b } = inputs as unknown as DenseInputs;
      return run(backend, new ForwardProgram(activationOf(attrs), x.shape[0]!, w.shape[1]!, b !== undefined), b ? [x, w, b] : [x, w], dims(x, w));
    },
  });
  tf.registerKernel({
    kernelName: GRAD_INPUT,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, y, x, w } = inputs as unknown as Record<'dy' | 'y' | 'x' | 'w', TensorInfo>;
      const act = activationOf(attrs);
      return run(backend, new GradInputProgram(act, x.shape[0]!, w.shape[0]!), gradientTensors(act, dy, y, w), dims(x, w));
    },
  });
  tf.registerKernel({
    kernelName: GRAD_WEIGHTS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, y, x, w } = inputs as unknown as Record<'dy' | 'y' | 'x' | 'w', TensorInfo>;
      const act = activationOf(attrs);
      return run(backend, new GradWeightsProgram(act, w.shape[0]!, w.shape[1]!), gradientTensors(act, dy, y, x), dims(x, w));
    },
  });
  tf.registerKernel({
    kernelName: GRAD_BIAS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, y, x, w } = inputs as unknown as Record<'dy' | 'y' | 'x' | 'w', TensorInfo>;
      const act = activationOf(attrs);
      return run(backend, new GradBiasProgram(act, w.shape[1]!), gradientTensors(act, dy, y), dims(x, w));
    },
  });
  tf.registerGradient({
    kernelName: DENSE_KERNEL,
    inputsToSave: ['x', 'w'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, w, y] = saved as Tensor[];
      const engine = tf.engine();
      const args = { dy: dy as Tensor, y: y!, x: x!, w: w! };
      const grad = (kernel: string) => () => engine.runKernel(kernel, args, attrs as never) as Tensor;
      return { x: grad(GRAD_INPUT), w: grad(GRAD_WEIGHTS), b: grad(GRAD_BIAS) };
    },
  });
}

/** act(x·w + b) as one program, where the active backend has the kernel (see hasWebgpuDense). */
export function denseLayer(tf: Tf, x: Tensor, w: Tensor, b: Tensor | undefined, activation: DenseActivation): Tensor {
  return tf.engine().runKernel(DENSE_KERNEL, b ? { x, w, b } : { x, w }, { activation } as never) as Tensor;
}

export function hasWebgpuDense(tf: Tf): boolean {
  return tf.getKernel(DENSE_KERNEL, tf.getBackend()) !== undefined;
}
