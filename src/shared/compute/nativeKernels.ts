import type { Tf } from '../gan/tf.js';
import type { NativeAddon } from './nativeAddon.js';
import { nativeConv2D, nativeConv2DBackpropFilter, nativeConv2DBackpropInput } from './nativeConvKernels.js';
import { nativeMatMul } from './nativeMatMulKernels.js';
import { nativeMean, nativeSum } from './nativeReduceKernels.js';
import { nativeGreater, nativeLeakyRelu, nativeSelect, nativeTanh } from './nativeElementwiseKernels.js';
import { FUSED_ADAM, FUSED_ADAM_PARTS, fusedAdamKernel, fusedAdamPartsKernel } from './fusedAdam.js';
import { useFiniteCheck } from '../gan/finite.js';
import { installNativeFusedKernels } from './nativeFusedKernels.js';
import type { KernelArgs, TensorInfo } from './wasmHeap.js';

type KernelConfig = NonNullable<ReturnType<Tf['getKernel']>>;
type NativeKernel = (tf: Tf, addon: NativeAddon, args: KernelArgs) => TensorInfo | undefined;

/** The wasm kernels the addon takes over, and by what. */
const NATIVE_KERNELS: Record<string, NativeKernel> = {
  BatchMatMul: nativeMatMul,
  _FusedMatMul: nativeMatMul,
  Conv2D: nativeConv2D,
  FusedConv2D: nativeConv2D,
  Conv2DBackpropInput: nativeConv2DBackpropInput,
  Conv2DBackpropFilter: nativeConv2DBackpropFilter,
  Sum: nativeSum,
  Mean: nativeMean,
  LeakyRelu: nativeLeakyRelu,
  Greater: nativeGreater,
  Select: nativeSelect,
  Tanh: nativeTanh,
};

export const NATIVE_KERNEL_NAMES = Object.keys(NATIVE_KERNELS);

/**
 * Registers the native kernels on the wasm backend (which must be active, with
 * its own and our JS kernels installed): each runs the addon, or the kernel it
 * replaced for a case the addon does not take; and adds the fused Adam updates
 * (flat, and per variable from averaged parts), the addon's finite check of the averaged gradients, and
 * the trainer's dense, GAN-loss and batch-norm ops (nativeFusedKernels.ts).
 * Returns a function that puts the replaced kernels back and removes the added
 * one (tests compare both paths in one process).
 */
export function installNativeKernels(tf: Tf, addon: NativeAddon): () => void {
  const replaced: KernelConfig[] = [];
  for (const [name, native] of Object.entries(NATIVE_KERNELS)) {
    const original = tf.getKernel(name, 'wasm');
    if (!original) throw new Error(`the wasm backend has no ${name} kernel to replace`);
    const kernelFunc = ((args: KernelArgs) => native(tf, addon, args) ?? original.kernelFunc(args)) as KernelConfig['kernelFunc'];
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...original, kernelFunc });
    replaced.push(original);
  }
  if (tf.getKernel(FUSED_ADAM, 'wasm')) tf.unregisterKernel(FUSED_ADAM, 'wasm');
  tf.registerKernel({ kernelName: FUSED_ADAM, backendName: 'wasm', kernelFunc: fusedAdamKernel(addon) as unknown as KernelConfig['kernelFunc'] });
  if (tf.getKernel(FUSED_ADAM_PARTS, 'wasm')) tf.unregisterKernel(FUSED_ADAM_PARTS, 'wasm');
  tf.registerKernel({ kernelName: FUSED_ADAM_PARTS, backendName: 'wasm', kernelFunc: fusedAdamPartsKernel(addon) as unknown as KernelConfig['kernelFunc'] });
  const restoreFiniteCheck = useFiniteCheck((values) => addon.allFinite(values));
  const removeFused = installNativeFusedKernels(tf, addon);
  return () => {
    removeFused();
    restoreFiniteCheck();
    tf.unregisterKernel(FUSED_ADAM, 'wasm');
    tf.unregisterKernel(FUSED_ADAM_PARTS, 'wasm');
    for (const original of replaced) {
      tf.unregisterKernel(original.kernelName, 'wasm');
      tf.registerKernel(original);
    }
  };
}
