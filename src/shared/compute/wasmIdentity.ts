import type { Tf } from '../gan/tf.js';
import { type KernelArgs, type TensorInfo, wrapWasmKernel } from './wasmHeap.js';

/**
 * wasm's Identity copies its input (150 calls a step in the MLP: gradients
 * passed through, casts to the same dtype). Tensors are immutable, so it can
 * share the data as wasm's own Reshape does: one more reference, no copy.
 */
export function installWasmIdentityFastPath(tf: Tf): boolean {
  return wrapWasmKernel(tf, 'Identity', (original) => (args: KernelArgs) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    if (x.dtype === 'string') return original.kernelFunc(args);
    (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
}
