import type { Tf } from './tf.js';
import { tileInto } from './tile.js';
import { type ConvGeometry, col2im, im2colTransposed, patchMatrixShape } from './im2col.js';

type KernelConfig = NonNullable<ReturnType<Tf['getKernel']>>;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];
type TensorInfo = { dataId: object; shape: number[]; dtype: string };
type ConvAttrs = { strides: number | [number, number]; pad: 'valid' | 'same' | number; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object): void;
}

const provided = new WeakSet<object>();

/** Geometry of the forward convolution x * filter, as tfjs computes it (padding included). */
function geometry(tf: Tf, xShape: number[], filterShape: number[], attrs: ConvAttrs): ConvGeometry {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`wasm convolution gradients: only NHWC is supported, got ${attrs.dataFormat}`);
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  return {
    batch: info.batchSize, inH: info.inHeight, inW: info.inWidth, inC: info.inChannels,
    outH: info.outHeight, outW: info.outWidth, outC: info.outChannels,
    kH: info.filterHeight, kW: info.filterWidth, strideH: info.strideHeight, strideW: info.strideWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}

/** Runs another wasm kernel from inside ours; its result is ours to dispose. */
function call(tf: Tf, name: string, args: KernelArgs, inputs: Record<string, TensorInfo>, attrs: object): TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm backend has no ${name} kernel`);
  return kernel.kernelFunc({ inputs: inputs as never, backend: args.backend, attrs: attrs as never }) as TensorInfo;
}

/** The same data seen as [1, rows, cols]: what BatchMatMul and Transpose take. */
const asMatrix = (t: TensorInfo, rows: number, cols: number): TensorInfo => ({ dataId: t.dataId, shape: [1, rows, cols], dtype: t.dtype });

/**
 * dW = patchesᵀ · dy as one plain product with the transposed patch matrix on
 * the left: the wasm kernel repacks its right operand on every call, and dy is
 * eight times smaller than the patches.
 */
function backpropFilter(tf: Tf, args: KernelArgs): TensorInfo {
  const { x, dy } = args.inputs as unknown as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  const backend = args.backend as unknown as WasmBackend;
  const g = geometry(tf, x.shape, attrs.filterShape, attrs);
  const [m, k] = patchMatrixShape(g);
  const channelMajor = call(tf, 'Transpose', args, { x }, { perm: [3, 0, 1, 2] });
  const patchesT = backend.makeOutput([1, k, m], 'float32');
  // Views into the wasm heap go stale when it grows: take them after the allocations.
  im2colTransposed(backend.typedArrayFromHeap(channelMajor), g, backend.typedArrayFromHeap(patchesT));
  const out = call(tf, 'BatchMatMul', args, { a: patchesT, b: asMatrix(dy, m, g.outC) }, { transposeA: false, transposeB: false });
  for (const t of [channelMajor, patchesT]) backend.disposeData(t.dataId);
  out.shape = attrs.filterShape;
  return out;
}

/** dx = col2im(dy · Wᵀ): one plain product and a scatter-add, instead of the backend's direct loop. */
function backpropInput(tf: Tf, args: KernelArgs): TensorInfo {
  const { dy, filter } = args.inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  const backend = args.backend as unknown as WasmBackend;
  const g = geometry(tf, attrs.inputShape, filter.shape, attrs);
  const [m, k] = patchMatrixShape(g);
  const filterT = call(tf, 'Transpose', args, { x: asMatrix(filter, k, g.outC) }, { perm: [0, 2, 1] });
  const patches = call(tf, 'BatchMatMul', args, { a: asMatrix(dy, m, g.outC), b: filterT }, { transposeA: false, transposeB: false });
  const out = backend.makeOutput(attrs.inputShape, 'float32');
  col2im(backend.typedArrayFromHeap(patches), g, backend.typedArrayFromHeap(out));
  for (const t of [filterT, patches]) backend.disposeData(t.dataId);
  return out;
}

function register(tf: Tf, name: string, kernelFunc: (tf: Tf, args: KernelArgs) => TensorInfo): void {
  const existing = tf.getKernel(name, 'wasm');
  if (existing && provided.has(existing)) return;
  const config: KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc: ((args: KernelArgs) => kernelFunc(tf, args)) as KernelConfig['kernelFunc'] };
  provided.add(config);
  if (existing) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(config);
}

/**
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, so no convolutional model
 * can train on it; this provides one (always: it is needed, not an optimization).
 * Idempotent; false if the wasm backend is not registered.
 */
export function installWasmConvFilterGradient(tf: Tf): boolean {
  if (!tf.getKernel('BatchMatMul', 'wasm')) return false;
  register(tf, 'Conv2DBackpropFilter', backpropFilter);
  return true;
}

/**
 * Replaces the backend's Conv2DBackpropInput (a direct loop, about ten times
 * slower than the same arithmetic as a matrix product) — the input gradient of
 * every convolution and the forward pass of every transposed convolution.
 */
export function installWasmConvInputFastPath(tf: Tf): boolean {
  if (!tf.getKernel('BatchMatMul', 'wasm')) return false;
  register(tf, 'Conv2DBackpropInput', backpropInput);
  return true;
}

/**
 * The backend's Tile is a generic loop (about 90 ms to broadcast a vector over
 * a 64×14×14×64 batch, once per batch-norm layer in every backward pass); block
 * copies do it in a few milliseconds with the same bits.
 */
export function installWasmTileFastPath(tf: Tf): boolean {
  if (!tf.getKernel('Tile', 'wasm')) return false;
  register(tf, 'Tile', (_tf, args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    const { reps } = args.attrs as unknown as { reps: number[] };
    const backend = args.backend as unknown as WasmBackend;
    const out = backend.makeOutput(x.shape.map((s, i) => s * reps[i]!), x.dtype);
    tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
    return out;
  });
  return true;
}
