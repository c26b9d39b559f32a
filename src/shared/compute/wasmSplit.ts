import type { Tf } from '../gan/tf.js';
import { type KernelArgs, type TensorInfo, type WasmHeapBackend, heapOf, offsetOf, sizeOf, wrapWasmKernel } from './wasmHeap.js';

/**
 * SplitV along an axis with only ones before it (the optimizer's flat vector
 * cut back into variables, twice a step) is a run of contiguous blocks: one
 * block copy per part on the heap, instead of wasm's generic slice (10 ms a
 * step for the MLP). Other splits go to the kernel it replaces. Same bits.
 */
export function installWasmSplitFastPath(tf: Tf): boolean {
  return wrapWasmKernel(tf, 'SplitV', (original) => (args: KernelArgs) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    if (x.shape.slice(0, ax).some((d) => d !== 1)) return original.kernelFunc(args);
    const sizes = tf.backend_util.prepareSplitSize(x as never, numOrSizeSplits, ax);
    const backend = args.backend as unknown as WasmHeapBackend;
    const inner = sizeOf(x.shape.slice(ax + 1));
    const bytes = x.dtype === 'float32' || x.dtype === 'int32' ? 4 : x.dtype === 'bool' ? 1 : 0;
    if (bytes === 0) return original.kernelFunc(args);
    const outs = sizes.map((s) => backend.makeOutput(x.shape.map((d, i) => (i === ax ? s : d)), x.dtype));
    // Offsets and the heap after every allocation: growing memory replaces the buffer.
    const heap = new Uint8Array(heapOf(backend));
    let src = offsetOf(backend, x);
    outs.forEach((out, i) => {
      const n = sizes[i]! * inner * bytes;
      heap.copyWithin(offsetOf(backend, out), src, src + n);
      src += n;
    });
    return outs;
  });
}
