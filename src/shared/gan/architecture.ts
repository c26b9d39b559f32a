import { Rng, hashKey } from '../rng.js';

export type Activation = 'leakyRelu' | 'relu' | 'tanh';

/** One layer as plain data: the tfjs builder, the shape inference and the weight initializer all read it. */
export type LayerSpec =
  | { kind: 'dense'; name: string; units: number; bias: boolean }
  | { kind: 'conv2d' | 'conv2dTranspose'; name: string; filters: number; kernel: number; stride: number; bias: boolean }
  | { kind: 'batchNorm'; name: string }
  | { kind: 'activation'; name: string; fn: Activation }
  | { kind: 'reshape'; name: string; shape: number[] };

export type KernelInit = 'glorotUniform' | 'normal002';

export interface ModelSpec {
  name: string;
  /** One example's shape, without the batch dimension. */
  inputShape: number[];
  layers: LayerSpec[];
  /** Glorot uniform (the Keras default), or N(0, 0.02) as the DCGAN paper prescribes. */
  kernelInit: KernelInit;
}

export interface ParamSpec {
  name: string;
  shape: number[];
  /** False for batch-norm moving statistics: state, not parameters. */
  trainable: boolean;
  init: 'kernel' | 'zeros' | 'ones';
}

export const LEAKY_ALPHA = 0.2;
/** tfjs convention: moving = moving · momentum + batch · (1 − momentum); PyTorch's default of 0.1 the other way round. */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Output shape of a convolution with 'same' padding. */
function convOut(kind: 'conv2d' | 'conv2dTranspose', [h, w]: number[], stride: number): [number, number] {
  return kind === 'conv2d' ? [Math.ceil(h! / stride), Math.ceil(w! / stride)] : [h! * stride, w! * stride];
}

/**
 * Walks the layers, inferring shapes: the parameters in the order tfjs lists a
 * model's `weights` (all trainable ones layer by layer, then the non-trainable
 * ones), and the output shape. Throws on a spec that cannot be built.
 */
export function inferShapes(spec: ModelSpec): { params: ParamSpec[]; outputShape: number[] } {
  const trainable: ParamSpec[] = [];
  const state: ParamSpec[] = [];
  let shape = spec.inputShape;
  const rank = (r: number, l: LayerSpec): void => {
    if (shape.length !== r) throw new Error(`${spec.name}/${l.name}: expects rank ${r} input, got [${shape.join(', ')}]`);
  };
  for (const l of spec.layers) {
    switch (l.kind) {
      case 'dense':
        rank(1, l);
        trainable.push({ name: `${l.name}/kernel`, shape: [shape[0]!, l.units], trainable: true, init: 'kernel' });
        if (l.bias) trainable.push({ name: `${l.name}/bias`, shape: [l.units], trainable: true, init: 'zeros' });
        shape = [l.units];
        break;
      case 'conv2d':
      case 'conv2dTranspose': {
        rank(3, l);
        const channels = shape[2]!;
        // tfjs stores a transposed convolution's kernel as [k, k, out, in].
        const kernel = l.kind === 'conv2d' ? [l.kernel, l.kernel, channels, l.filters] : [l.kernel, l.kernel, l.filters, channels];
        trainable.push({ name: `${l.name}/kernel`, shape: kernel, trainable: true, init: 'kernel' });
        if (l.bias) trainable.push({ name: `${l.name}/bias`, shape: [l.filters], trainable: true, init: 'zeros' });
        shape = [...convOut(l.kind, shape, l.stride), l.filters];
        break;
      }
      case 'batchNorm': {
        const c = [shape[shape.length - 1]!];
        trainable.push({ name: `${l.name}/gamma`, shape: c, trainable: true, init: 'ones' }, { name: `${l.name}/beta`, shape: c, trainable: true, init: 'zeros' });
        state.push({ name: `${l.name}/moving_mean`, shape: c, trainable: false, init: 'zeros' }, { name: `${l.name}/moving_variance`, shape: c, trainable: false, init: 'ones' });
        break;
      }
      case 'reshape':
        if (size(l.shape) !== size(shape)) throw new Error(`${spec.name}/${l.name}: cannot reshape [${shape.join(', ')}] to [${l.shape.join(', ')}]`);
        shape = l.shape;
        break;
      case 'activation':
        break;
    }
  }
  return { params: [...trainable, ...state], outputShape: shape };
}

export function paramShapes(spec: ModelSpec): ParamSpec[] {
  return inferShapes(spec).params;
}

/** Number of floats in the model's full state (parameters and batch-norm statistics). */
export function stateSize(spec: ModelSpec): number {
  return paramShapes(spec).reduce((n, p) => n + size(p.shape), 0);
}

export function trainableSize(spec: ModelSpec): number {
  return paramShapes(spec).reduce((n, p) => n + (p.trainable ? size(p.shape) : 0), 0);
}

/**
 * The model's initial state as one flat vector in `paramShapes` order: kernels
 * from our own seeded generator, so that they are the same on every backend and
 * host; biases and betas zero, gammas one, moving statistics those of N(0, 1).
 */
export function initialWeights(spec: ModelSpec, seed: number): Float32Array {
  const out = new Float32Array(stateSize(spec));
  let offset = 0;
  paramShapes(spec).forEach((p, index) => {
    const n = size(p.shape);
    if (p.init === 'ones') out.fill(1, offset, offset + n);
    if (p.init === 'kernel') {
      const rng = new Rng(hashKey(seed, index, size(spec.inputShape), 0x1417));
      if (spec.kernelInit === 'normal002') {
        for (let i = 0; i < n; i++) out[offset + i] = rng.normal() * 0.02;
      } else {
        // Fans as Keras computes them: receptive field times the last two dimensions.
        const receptive = size(p.shape.slice(0, -2));
        const limit = Math.sqrt(6 / (receptive * (p.shape[p.shape.length - 2]! + p.shape[p.shape.length - 1]!)));
        for (let i = 0; i < n; i++) out[offset + i] = (rng.next() * 2 - 1) * limit;
      }
    }
    offset += n;
  });
  return out;
}
