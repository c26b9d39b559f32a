import type { Tf } from '../gan/tf.js';
import type { NativeAddon } from './nativeAddon.js';
import { type KernelArgs, type TensorInfo, type WasmHeapBackend, heapOf, offsetOf, sizeOf } from './wasmHeap.js';

/** The kernel FlatAdam runs, where a backend has it, instead of its dozen element-wise kernels. */
export const FUSED_ADAM = 'TrainerFusedAdam';

export interface FusedAdamAttrs {
  beta1: number;
  beta2: number;
  lr: number;
  epsilon: number;
}

/**
 * FusedAdam for the wasm heap, run by the addon: inputs value, gradient, m, v,
 * accBeta1, accBeta2; outputs the new value, m and v, bit for bit what
 * FlatAdam's tfjs kernels give (a unit test compares them).
 */
export function fusedAdamKernel(addon: NativeAddon): (args: KernelArgs) => TensorInfo[] {
  return (args) => {
    const { value, gradient, m, v, accBeta1, accBeta2 } = args.inputs as unknown as Record<'value' | 'gradient' | 'm' | 'v' | 'accBeta1' | 'accBeta2', TensorInfo>;
    const { beta1, beta2, lr, epsilon } = args.attrs as unknown as FusedAdamAttrs;
    const backend = args.backend as unknown as WasmHeapBackend;
    const n = sizeOf(value.shape);
    const outs = [value, m, v].map((t) => backend.makeOutput([...t.shape], 'float32'));
    const [newValue, newM, newV] = outs as [TensorInfo, TensorInfo, TensorInfo];
    const off = (t: TensorInfo): number => offsetOf(backend, t);
    addon.adam(heapOf(backend), n, off(value), off(gradient), off(m), off(v), off(accBeta1), off(accBeta2), off(newValue), off(newM), off(newV), beta1, beta2, lr, epsilon);
    return outs;
  };
}

/** Whether the active backend has the fused kernel (the native one registers it). */
export function hasFusedAdam(tf: Tf): boolean {
  return tf.getKernel(FUSED_ADAM, tf.getBackend()) !== undefined;
}
