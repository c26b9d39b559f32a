import type { Tf } from '../gan/tf.js';
import type { NativeAddon } from './nativeAddon.js';
import { LEAKY_ALPHA } from '../gan/architecture.js';
import { ACTIVATION_GRAD_KERNEL, DENSE_KERNEL, type DenseActivation, GRAD_BIAS_KERNEL, activationOf, registerDenseGradient } from '../gan/denseOp.js';
import { GAN_LOSS_GRAD_KERNEL, GAN_LOSS_KERNEL, ganLossAttrs, registerGanLossGradient } from '../gan/ganLossOp.js';
import { BATCH_NORM_GRAD_BETA_KERNEL, BATCH_NORM_GRAD_GAMMA_KERNEL, BATCH_NORM_GRAD_INPUT_KERNEL, BATCH_NORM_KERNEL, BATCH_NORM_MOVING_KERNEL, batchNormAttrs,
  batchNormMovingAttrs, registerBatchNormGradient } from '../gan/batchNormOp.js';
import { ACTIVATIONS, type KernelArgs, type TensorInfo, type WasmHeapBackend, heapOf, offsetOf, sizeOf } from './wasmHeap.js';

type KernelConfig = NonNullable<ReturnType<Tf['getKernel']>>;

/** The addon's number for a dense activation. */
const ACT: Record<DenseActivation, number> = { linear: ACTIVATIONS.linear!, relu: ACTIVATIONS.relu!, leakyRelu: ACTIVATIONS.leakyrelu!, tanh: ACTIVATIONS.tanh! };

function float32(t: TensorInfo, what: string): void {
  if (t.dtype !== 'float32') throw new Error(`${what}: expected float32, got ${t.dtype}`);
}

/** act(x·w + b): one sgemm with the bias and activation in its last pass. x [m, k], w [k, n], b [n]. */
function dense(addon: NativeAddon, { inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const { x, w, b: bias } = inputs as unknown as { x: TensorInfo; w: TensorInfo; b?: TensorInfo };
  const act = activationOf(attrs);
  for (const t of [x, w, ...(bias ? [bias] : [])]) float32(t, DENSE_KERNEL);
  const [m, k] = x.shape as [number, number];
  const [kw, n] = w.shape as [number, number];
  if (x.shape.length !== 2 || w.shape.length !== 2 || k !== kw || k === 0 || (bias && sizeOf(bias.shape) !== n)) {
    throw new Error(`${DENSE_KERNEL}: shapes x [${x.shape}], w [${w.shape}]${bias ? `, b [${bias.shape}]` : ''} do not make a dense layer`);
  }
  const backend = b as unknown as WasmHeapBackend;
  const out = backend.makeOutput([m, n], 'float32');
  if (m * n === 0) return out;
  addon.matmul(heapOf(backend), offsetOf(backend, x), offsetOf(backend, w), offsetOf(backend, out), 1, 1, m, n, k, 0, 0,
    bias ? offsetOf(backend, bias) : -1, bias ? n : 0, ACT[act], LEAKY_ALPHA);
  return out;
}

function activationGrad(addon: NativeAddon, { inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const { dy, y } = inputs as unknown as Record<'dy' | 'y', TensorInfo>;
  const act = activationOf(attrs);
  if (act === 'linear') throw new Error(`${ACTIVATION_GRAD_KERNEL}: nothing to do for a linear layer`);
  float32(dy, ACTIVATION_GRAD_KERNEL);
  float32(y, ACTIVATION_GRAD_KERNEL);
  const n = sizeOf(dy.shape);
  if (sizeOf(y.shape) !== n) throw new Error(`${ACTIVATION_GRAD_KERNEL}: dy [${dy.shape}] and y [${y.shape}] differ`);
  const backend = b as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...dy.shape], 'float32');
  if (n > 0) addon.activationGrad(heapOf(backend), offsetOf(backend, dy), offsetOf(backend, y), offsetOf(backend, out), n, ACT[act], LEAKY_ALPHA);
  return out;
}

function gradBias(addon: NativeAddon, { inputs, backend: b }: KernelArgs): TensorInfo {
  const { dz } = inputs as unknown as { dz: TensorInfo };
  float32(dz, GRAD_BIAS_KERNEL);
  const [rows, cols] = dz.shape as [number, number];
  const backend = b as unknown as WasmHeapBackend;
  const out = backend.makeOutput([cols], 'float32');
  if (rows * cols > 0) addon.sumRows(heapOf(backend), offsetOf(backend, dz), offsetOf(backend, out), rows, cols, 0);
  return out;
}

/** The heap's floats of `t` (a view: take it after the kernel's last makeOutput, which may grow the heap). */
function floats(backend: WasmHeapBackend, t: TensorInfo): Float32Array {
  return new Float32Array(heapOf(backend), offsetOf(backend, t), sizeOf(t.shape));
}

/** The loss over at most a few thousand logits: a loop here costs less than a call into the addon would save. */
function ganLossKernel(_addon: NativeAddon, { inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const { logits } = inputs as unknown as { logits: TensorInfo };
  float32(logits, GAN_LOSS_KERNEL);
  const n = sizeOf(logits.shape);
  const { positives, realLabel } = ganLossAttrs(n, attrs);
  const backend = b as unknown as WasmHeapBackend;
  const out = backend.makeOutput([3], 'float32');
  const x = floats(backend, logits);
  // Each part's sums: the first `positives` logits against realLabel, the rest against 0.
  const part = (from: number, to: number, z: number): { loss: number; prob: number } => {
    let loss = 0;
    let prob = 0;
    for (let i = from; i < to; i++) {
      const v = x[i]!;
      loss += Math.max(v, 0) - v * z + Math.log1p(Math.exp(-Math.abs(v)));
      prob += 1 / (1 + Math.exp(-v));
    }
    const count = to - from;
    return count > 0 ? { loss: loss / count, prob: prob / count } : { loss: 0, prob: 0 };
  };
  const real = part(0, positives, realLabel);
  const fake = part(positives, n, 0);
  floats(backend, out).set([real.loss + fake.loss, real.prob, fake.prob]);
  return out;
}

function ganLossGradKernel(_addon: NativeAddon, { inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const { logits, dy } = inputs as unknown as { logits: TensorInfo; dy: TensorInfo };
  float32(logits, GAN_LOSS_GRAD_KERNEL);
  float32(dy, GAN_LOSS_GRAD_KERNEL);
  const n = sizeOf(logits.shape);
  const { positives, realLabel } = ganLossAttrs(n, attrs);
  const backend = b as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...logits.shape], 'float32');
  const x = floats(backend, logits);
  const seed = floats(backend, dy)[0]!;
  const dx = floats(backend, out);
  for (let i = 0; i < n; i++) {
    const positive = i < positives;
    dx[i] = (1 / (1 + Math.exp(-x[i]!)) - (positive ? realLabel : 0)) / (positive ? positives : n - positives) * seed;
  }
  return out;
}

/** x's rows and channels (the last axis), float32. */
function channelsOf(x: TensorInfo, what: string): { rows: number; channels: number } {
  float32(x, what);
  const channels = x.shape[x.shape.length - 1] ?? 0;
  const rows = channels > 0 ? sizeOf(x.shape) / channels : 0;
  if (rows === 0) throw new Error(`${what}: x [${x.shape}] has no values`);
  return { rows, channels };
}

function batchNorm(addon: NativeAddon, { inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const { x, gamma, beta } = inputs as unknown as Record<'x' | 'gamma' | 'beta', TensorInfo>;
  const a = batchNormAttrs(attrs);
  const { rows, channels } = channelsOf(x, BATCH_NORM_KERNEL);
  const backend = b as unknown as WasmHeapBackend;
  const y = backend.makeOutput([...x.shape], 'float32');
  addon.batchNorm(heapOf(backend), offsetOf(backend, x), offsetOf(backend, gamma), offsetOf(backend, beta), offsetOf(backend, y), rows, channels, a.epsilon, a.activation === 'relu' ? 1 : 0);
  return y;
}

function batchNormMoving(addon: NativeAddon, { inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const { x, moving } = inputs as unknown as Record<'x' | 'moving', TensorInfo>;
  const a = batchNormMovingAttrs(attrs);
  const { rows, channels } = channelsOf(x, BATCH_NORM_MOVING_KERNEL);
  const backend = b as unknown as WasmHeapBackend;
  const out = backend.makeOutput([channels], 'float32');
  addon.batchNormMoving(heapOf(backend), offsetOf(backend, x), offsetOf(backend, moving), offsetOf(backend, out), rows, channels, a.which === 'variance' ? 1 : 0, 1 - (a.momentum ?? 0));
  return out;
}

/** The three gradient kernels: x's (which 0, x's shape), γ's (1) and β's (2), one value a channel. */
function batchNormGrad(which: 0 | 1 | 2, name: string): (addon: NativeAddon, args: KernelArgs) => TensorInfo {
  return (addon, { inputs, backend: b, attrs }) => {
    const { x, dy, y, gamma } = inputs as unknown as Record<'x' | 'dy' | 'y' | 'gamma', TensorInfo>;
    const a = batchNormAttrs(attrs);
    const { rows, channels } = channelsOf(x, name);
    const backend = b as unknown as WasmHeapBackend;
    const out = backend.makeOutput(which === 0 ? [...x.shape] : [channels], 'float32');
    addon.batchNormGrad(heapOf(backend), offsetOf(backend, x), offsetOf(backend, dy), a.activation === 'relu' ? offsetOf(backend, y) : -1, offsetOf(backend, gamma),
      offsetOf(backend, out), rows, channels, a.epsilon, which);
    return out;
  };
}

/** The dense, GAN-loss and batch-norm ops' kernels on the wasm heap, by name. */
const KERNELS: Record<string, (addon: NativeAddon, args: KernelArgs) => TensorInfo> = {
  [DENSE_KERNEL]: dense,
  [ACTIVATION_GRAD_KERNEL]: activationGrad,
  [GRAD_BIAS_KERNEL]: gradBias,
  [GAN_LOSS_KERNEL]: ganLossKernel,
  [GAN_LOSS_GRAD_KERNEL]: ganLossGradKernel,
  [BATCH_NORM_KERNEL]: batchNorm,
  [BATCH_NORM_MOVING_KERNEL]: batchNormMoving,
  [BATCH_NORM_GRAD_INPUT_KERNEL]: batchNormGrad(0, BATCH_NORM_GRAD_INPUT_KERNEL),
  [BATCH_NORM_GRAD_GAMMA_KERNEL]: batchNormGrad(1, BATCH_NORM_GRAD_GAMMA_KERNEL),
  [BATCH_NORM_GRAD_BETA_KERNEL]: batchNormGrad(2, BATCH_NORM_GRAD_BETA_KERNEL),
};

/**
 * Registers the trainer's dense, GAN-loss and batch-norm ops (denseOp.ts, ganLossOp.ts, batchNormOp.ts) on the
 * wasm backend (already registered), run by the addon. With them a replica runs its
 * fused phases (fusedPhases.ts): a few kernels per layer instead of tfjs-layers'
 * graph of small ones. Returns a function that removes them.
 */
export function installNativeFusedKernels(tf: Tf, addon: NativeAddon): () => void {
  for (const [kernelName, kernel] of Object.entries(KERNELS)) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: ((args: KernelArgs) => kernel(addon, args)) as KernelConfig['kernelFunc'] });
  }
  registerDenseGradient(tf);
  registerGanLossGradient(tf);
  registerBatchNormGradient(tf);
  return () => {
    for (const kernelName of Object.keys(KERNELS)) if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
  };
}
