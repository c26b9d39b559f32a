import type { Tf } from '../gan/tf.js';
import type { NativeAddon } from './nativeAddon.js';
import { type KernelArgs, type TensorInfo, type WasmHeapBackend, heapOf, offsetOf, sizeOf } from './wasmHeap.js';

/**
 * Sum and Mean over leading axes (bias gradients and batch-norm moments of NHWC
 * tensors) in one pass over rows; wasm's kernels transpose the reduced axes to
 * the end first. Other reductions return undefined: the wasm kernel runs.
 */
function reduceLeading(tf: Tf, addon: NativeAddon, args: KernelArgs, mean: boolean): TensorInfo | undefined {
  const { x } = args.inputs as unknown as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims?: boolean };
  if (x.dtype !== 'float32' || x.shape.length === 0) return undefined;
  const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((a, i) => a !== i)) return undefined;
  const rows = sizeOf(x.shape.slice(0, axes.length));
  const cols = sizeOf(x.shape.slice(axes.length));
  if (rows === 0 || cols === 0) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput(keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length), 'float32');
  addon.sumRows(heapOf(backend), offsetOf(backend, x), offsetOf(backend, out), rows, cols, mean ? 1 : 0);
  return out;
}

export const nativeSum = (tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined => reduceLeading(tf, addon, args, false);
export const nativeMean = (tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined => reduceLeading(tf, addon, args, true);
