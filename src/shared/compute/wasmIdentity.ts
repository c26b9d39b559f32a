import type { Tf } from '../gan/tf.js';
import type { KernelArgs, TensorInfo } from './wasmHeap.js';

type KernelConfig = NonNullable<ReturnType<Tf['getKernel']>>;
const provided = new WeakSet<object>();

/**
 * wasm's Identity copies its input (150 calls a step in the MLP: gradients
 * passed through, casts to the same dtype). Tensors are immutable, so it can
 * share the data as wasm's own Reshape does: one more reference, no copy.
 */
export function installWasmIdentityFastPath(tf: Tf): boolean {
  const original = tf.getKernel('Identity', 'wasm');
  if (!original || provided.has(original)) return false;
  const kernelFunc = ((args: KernelArgs) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    if (x.dtype === 'string') return original.kernelFunc(args);
    (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  }) as KernelConfig['kernelFunc'];
  const replacement: KernelConfig = { ...original, kernelFunc };
  provided.add(replacement);
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel(replacement);
  return true;
}
