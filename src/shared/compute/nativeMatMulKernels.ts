import type { Tf } from '../gan/tf.js';
import type { NativeAddon } from './nativeAddon.js';
import { ACTIVATIONS, type KernelArgs, type TensorInfo, type WasmHeapBackend, heapOf, offsetOf, sizeOf } from './wasmHeap.js';

type MatMulAttrs = { transposeA?: boolean; transposeB?: boolean; activation?: string; leakyreluAlpha?: number };

/**
 * BatchMatMul and _FusedMatMul as one OpenBLAS sgemm per batch entry, bias and
 * activation applied in the same pass. Returns undefined for what the addon
 * does not take (other dtypes, general batch broadcasting, prelu/elu, a bias
 * that is not per column): the caller then runs the wasm kernel.
 */
export function nativeMatMul(tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined {
  const { a, b, bias, preluActivationWeights } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  const attrs = args.attrs as MatMulAttrs;
  const act = ACTIVATIONS[attrs.activation ?? 'linear'];
  if (act === undefined || preluActivationWeights || a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const tA = attrs.transposeA === true;
  const tB = attrs.transposeB === true;
  const m = a.shape[tA ? ra - 1 : ra - 2]!;
  const k = a.shape[tA ? ra - 2 : ra - 1]!;
  const kb = b.shape[tB ? rb - 1 : rb - 2]!;
  const n = b.shape[tB ? rb - 2 : rb - 1]!;
  if (k !== kb) throw new Error(`matMul: inner dimensions ${k} and ${kb} of shapes [${a.shape}] and [${b.shape}] differ`);
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  // Only a whole side broadcast (a batch of one) maps to one stride per side.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  if (batchA === batchB && outerA.join() !== outerB.join()) return undefined;
  const biasSize = bias ? sizeOf(bias.shape) : 0;
  if (bias && biasSize !== n && biasSize !== 1) return undefined;
  if (m * n * k === 0) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...outer, m, n], 'float32');
  addon.matmul(heapOf(backend), offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out), batchA, batchB, m, n, k, +tA, +tB,
    bias ? offsetOf(backend, bias) : -1, biasSize, act, attrs.leakyreluAlpha ?? 0.2);
  return out;
}
