import type { NativeAddon } from './nativeAddon.js';
import { type KernelArgs, type TensorInfo, type WasmHeapBackend, heapOf, offsetOf, sizeOf } from './wasmHeap.js';
import type { Tf } from '../gan/tf.js';

/**
 * LeakyRelu and the two kernels of its gradient (Greater against 0, then
 * Select), float32 and same-shape (or a scalar right-hand side for Greater):
 * exact operations, the same bits as wasm's. Anything else goes to wasm.
 */
export function nativeLeakyRelu(_tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined {
  const { x } = args.inputs as unknown as { x: TensorInfo };
  const { alpha } = args.attrs as unknown as { alpha: number };
  const n = sizeOf(x.shape);
  if (x.dtype !== 'float32' || n === 0) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...x.shape], 'float32');
  addon.leakyRelu(heapOf(backend), offsetOf(backend, x), offsetOf(backend, out), n, alpha);
  return out;
}

export function nativeGreater(_tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined {
  const { a, b } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
  const n = sizeOf(a.shape);
  const bSize = sizeOf(b.shape);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || n === 0) return undefined;
  // b a scalar (of any rank up to a's), or b of a's very shape.
  if (!(bSize === 1 && b.shape.length <= a.shape.length) && a.shape.join() !== b.shape.join()) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...a.shape], 'bool');
  addon.greater(heapOf(backend), offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out), n, bSize);
  return out;
}

export function nativeSelect(_tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined {
  const { condition, t, e } = args.inputs as unknown as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
  const n = sizeOf(t.shape);
  if (condition.dtype !== 'bool' || t.dtype !== 'float32' || e.dtype !== 'float32' || n === 0) return undefined;
  if (condition.shape.join() !== t.shape.join() || e.shape.join() !== t.shape.join()) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...t.shape], 'float32');
  addon.select(heapOf(backend), offsetOf(backend, condition), offsetOf(backend, t), offsetOf(backend, e), offsetOf(backend, out), n);
  return out;
}

/** Tanh of float32 values by a vectorized rational approximation (within 4e-7 relative; wasm's took over 1 ms per MLP image batch). */
export function nativeTanh(_tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined {
  const { x } = args.inputs as unknown as { x: TensorInfo };
  const n = sizeOf(x.shape);
  if (x.dtype !== 'float32' || n === 0) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...x.shape], 'float32');
  addon.tanh(heapOf(backend), offsetOf(backend, x), offsetOf(backend, out), n);
  return out;
}
