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

/** The kernel FlatAdam.updateVariables runs where a backend has it: the update over a model's variables from averaged parts. */
export const FUSED_ADAM_PARTS = 'TrainerFusedAdamParts';

export interface FusedAdamPartsAttrs extends FusedAdamAttrs {
  /** The gradient is the average of these (outside the heap), formed as averageSlots forms it; one part with factor 1 is the gradient itself. */
  parts: Float32Array[];
  factor: number;
  /** Set by the kernel: whether every gradient was finite (when not, the outputs are to be dropped). */
  report: { finite: boolean };
}

/**
 * FusedAdamParts for the wasm heap, run by the addon: inputs m, v, accBeta1, accBeta2 and the variables'
 * values as value0 … value(k−1); outputs the new m and v, then each variable's new value. The same bits as
 * concatenating the values, FusedAdam over the average, and splitting (a unit test compares them).
 */
export function fusedAdamPartsKernel(addon: NativeAddon): (args: KernelArgs) => TensorInfo[] {
  return (args) => {
    const inputs = args.inputs as unknown as Record<string, TensorInfo>;
    const { m, v, accBeta1, accBeta2 } = inputs as Record<'m' | 'v' | 'accBeta1' | 'accBeta2', TensorInfo>;
    const { beta1, beta2, lr, epsilon, parts, factor, report } = args.attrs as unknown as FusedAdamPartsAttrs;
    const backend = args.backend as unknown as WasmHeapBackend;
    const values: TensorInfo[] = [];
    for (let i = 0; inputs[`value${i}`]; i++) values.push(inputs[`value${i}`]!);
    const [newM, newV] = [m, v].map((t) => backend.makeOutput([...t.shape], 'float32')) as [TensorInfo, TensorInfo];
    const newValues = values.map((t) => backend.makeOutput([...t.shape], 'float32'));
    const off = (t: TensorInfo): number => offsetOf(backend, t);
    const layout = new Float64Array(values.length * 3);
    values.forEach((t, i) => layout.set([off(t), off(newValues[i]!), sizeOf(t.shape)], 3 * i));
    report.finite = addon.adamParts(heapOf(backend), parts, factor, layout, off(m), off(v), off(accBeta1), off(accBeta2), off(newM), off(newV), beta1, beta2, lr, epsilon);
    return [newM, newV, ...newValues];
  };
}

/** Whether the active backend has the per-variable update from parts (the native one registers it). */
export function hasFusedAdamParts(tf: Tf): boolean {
  return tf.getKernel(FUSED_ADAM_PARTS, tf.getBackend()) !== undefined;
}
