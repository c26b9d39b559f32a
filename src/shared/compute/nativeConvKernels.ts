import type { Tf } from '../gan/tf.js';
import type { NativeAddon } from './nativeAddon.js';
import { ACTIVATIONS, type KernelArgs, type TensorInfo, type WasmHeapBackend, heapOf, offsetOf, sizeOf } from './wasmHeap.js';

type ConvAttrs = {
  strides: number | [number, number]; pad: 'valid' | 'same' | number; dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string; leakyreluAlpha?: number;
};

/**
 * The geometry the addon takes (native/src/conv.c): batch, inH, inW, inC, outH,
 * outW, outC, kH, kW, strideH, strideW, padTop, padLeft of the forward
 * convolution, as tfjs computes it; undefined where the addon does not apply
 * (NCHW, dilation).
 */
function geometry(tf: Tf, xShape: number[], filterShape: number[], attrs: ConvAttrs): Int32Array | undefined {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return undefined;
  const d = attrs.dilations ?? 1;
  if ((typeof d === 'number' ? [d] : d).some((v) => v !== 1)) return undefined;
  const i = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const g = [i.batchSize, i.inHeight, i.inWidth, i.inChannels, i.outHeight, i.outWidth, i.outChannels, i.filterHeight, i.filterWidth,
    i.strideHeight, i.strideWidth, i.padInfo.top, i.padInfo.left];
  if (g.slice(0, 11).some((v) => v < 1)) return undefined;
  return Int32Array.from(g);
}

const allFloat32 = (...ts: Array<TensorInfo | undefined>): boolean => ts.every((t) => t === undefined || t.dtype === 'float32');

/** Conv2D and FusedConv2D: im2col and one product per chunk of output pixels, bias and activation after. */
export function nativeConv2D(tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined {
  const { x, filter, bias, preluActivationWeights } = args.inputs as unknown as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  const act = ACTIVATIONS[attrs.activation ?? 'linear'];
  if (act === undefined || preluActivationWeights || !allFloat32(x, filter, bias)) return undefined;
  const g = geometry(tf, x.shape, filter.shape, attrs);
  if (!g || (bias && sizeOf(bias.shape) !== g[6])) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([g[0]!, g[4]!, g[5]!, g[6]!], 'float32');
  addon.conv2d(heapOf(backend), g, offsetOf(backend, x), offsetOf(backend, filter), offsetOf(backend, out), bias ? offsetOf(backend, bias) : -1, act, attrs.leakyreluAlpha ?? 0.2);
  return out;
}

/** dx = col2im(dy · Wᵀ): the input gradient of a convolution and the forward pass of a transposed one. */
export function nativeConv2DBackpropInput(tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined {
  const { dy, filter } = args.inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  if (!allFloat32(dy, filter)) return undefined;
  const g = geometry(tf, attrs.inputShape, filter.shape, attrs);
  if (!g) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...attrs.inputShape], 'float32');
  addon.conv2dBackpropInput(heapOf(backend), g, offsetOf(backend, dy), offsetOf(backend, filter), offsetOf(backend, out));
  return out;
}

/** dW = patchesᵀ · dy, the patch matrix built a chunk at a time. */
export function nativeConv2DBackpropFilter(tf: Tf, addon: NativeAddon, args: KernelArgs): TensorInfo | undefined {
  const { x, dy } = args.inputs as unknown as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  if (!allFloat32(x, dy)) return undefined;
  const g = geometry(tf, x.shape, attrs.filterShape, attrs);
  if (!g) return undefined;
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...attrs.filterShape], 'float32');
  addon.conv2dBackpropFilter(heapOf(backend), g, offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, out));
  return out;
}
