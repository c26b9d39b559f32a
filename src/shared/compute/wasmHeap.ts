import type { Tf } from '../gan/tf.js';

type KernelConfig = NonNullable<ReturnType<Tf['getKernel']>>;
export type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];
export type TensorInfo = { dataId: object; shape: number[]; dtype: string };

/** The parts of tfjs-backend-wasm's BackendWasm that native kernels use. */
export interface WasmHeapBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: string): TensorInfo;
}

/**
 * The heap as it is now. Growing memory replaces the ArrayBuffer, so take it
 * after every allocation of the kernel (makeOutput), just before the native call.
 */
export function heapOf(backend: WasmHeapBackend): ArrayBuffer {
  return backend.wasm.HEAPU8.buffer as ArrayBuffer;
}

/** Byte offset of a tensor's data in the heap. */
export function offsetOf(backend: WasmHeapBackend, t: TensorInfo): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) throw new Error('native kernel: tensor has no data on the wasm backend');
  return entry.memoryOffset;
}

export const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** tfjs's fused activations the addon applies, and the dense op's tanh, by its numbering (native/src/elementwise.h); others fall back. */
export const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, tanh: 5 };

const wrapped = new WeakSet<object>();

/**
 * Replaces wasm's kernel `name` with `wrap(original)`, once: a second call, or one
 * before the wasm backend is registered, returns false.
 */
export function wrapWasmKernel(tf: Tf, name: string, wrap: (original: KernelConfig) => (args: KernelArgs) => unknown): boolean {
  const original = tf.getKernel(name, 'wasm');
  if (!original || wrapped.has(original)) return false;
  const replacement: KernelConfig = { ...original, kernelFunc: wrap(original) as KernelConfig['kernelFunc'] };
  wrapped.add(replacement);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(replacement);
  return true;
}
