import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../errors.js';

/**
 * The compiled addon (native/, OpenBLAS): kernels that read and write the wasm
 * backend's heap in place. Every offset is a byte offset into `heap`, which must
 * be the heap's current ArrayBuffer (it is replaced when the heap grows); the
 * addon checks every region against it and throws rather than read outside.
 */
export interface NativeAddon {
  /** c = act(op(a)·op(b) + bias) per batch entry, row-major; a batch of 1 is broadcast; biasOff −1: none. */
  matmul(heap: ArrayBuffer, aOff: number, bOff: number, cOff: number, batchA: number, batchB: number, m: number, n: number, k: number,
    transA: number, transB: number, biasOff: number, biasSize: number, act: number, alpha: number): void;
  /** y = act(conv(x, filter) + bias), NHWC; geometry as in nativeConvKernels. */
  conv2d(heap: ArrayBuffer, geometry: Int32Array, xOff: number, filterOff: number, yOff: number, biasOff: number, act: number, alpha: number): void;
  conv2dBackpropInput(heap: ArrayBuffer, geometry: Int32Array, dyOff: number, filterOff: number, dxOff: number): void;
  conv2dBackpropFilter(heap: ArrayBuffer, geometry: Int32Array, xOff: number, dyOff: number, dwOff: number): void;
  /** FlatAdam's update in one pass, bit for bit: new value, m and v from value, gradient, m, v and the beta powers. */
  adam(heap: ArrayBuffer, n: number, valueOff: number, gradOff: number, mOff: number, vOff: number, accBeta1Off: number, accBeta2Off: number,
    outValueOff: number, outMOff: number, outVOff: number, beta1: number, beta2: number, lr: number, epsilon: number): void;
  /**
   * The same update over a model's variables (layout: [valueOff, outValueOff, size] per variable) with the gradient
   * averaged from `parts` (outside the heap) as averageSlots averages them; whether every gradient was finite.
   */
  adamParts(heap: ArrayBuffer, parts: Float32Array[], factor: number, layout: Float64Array, mOff: number, vOff: number, accBeta1Off: number, accBeta2Off: number,
    outMOff: number, outVOff: number, beta1: number, beta2: number, lr: number, epsilon: number): boolean;
  /** out[c] = Σ_r x[r, c] over a rows × cols matrix, divided by rows when mean is 1. */
  sumRows(heap: ArrayBuffer, xOff: number, outOff: number, rows: number, cols: number, mean: number): void;
  /** out = x < 0 ? alpha·x : x. */
  leakyRelu(heap: ArrayBuffer, xOff: number, outOff: number, n: number, alpha: number): void;
  /** out[i] = a[i] > b[i or 0], one byte each; bSize is n or 1. */
  greater(heap: ArrayBuffer, aOff: number, bOff: number, outOff: number, n: number, bSize: number): void;
  /** out[i] = condition[i] (a byte) ? t[i] : e[i]. */
  select(heap: ArrayBuffer, conditionOff: number, tOff: number, eOff: number, outOff: number, n: number): void;
  /** out = tanh(x), within 4e-7 relative (a rational approximation). */
  tanh(heap: ArrayBuffer, xOff: number, outOff: number, n: number): void;
  /** The dense op's activation gradient from its output y: out = dy · act′(y), act relu, leakyrelu or tanh (ACTIVATIONS' numbers). */
  activationGrad(heap: ArrayBuffer, dyOff: number, yOff: number, outOff: number, n: number, act: number, alpha: number): void;
  /** The batch-norm op over x as rows × channels: y = act((x − mean)·γ/√(var + ε) + β), relu 0 or 1. */
  batchNorm(heap: ArrayBuffer, xOff: number, gammaOff: number, betaOff: number, yOff: number, rows: number, channels: number, epsilon: number, relu: number): void;
  /** out = moving − (moving − the batch's mean (which 0) or variance (1))·decay. */
  batchNormMoving(heap: ArrayBuffer, xOff: number, movingOff: number, outOff: number, rows: number, channels: number, which: number, decay: number): void;
  /** The op's gradient for x (which 0), γ (1) or β (2) from dy, and y where a ReLU follows (yOff −1: none). */
  batchNormGrad(heap: ArrayBuffer, xOff: number, dyOff: number, yOff: number, gammaOff: number, outOff: number, rows: number, channels: number, epsilon: number, which: number): void;
  /** Whether no value is NaN or ±Infinity: a JS array, not the heap. */
  allFinite(values: Float32Array): boolean;
  setThreads(n: number): void;
  getThreads(): number;
}

/** Where `npm run build:native` (node-gyp in native/) puts the addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../../../native/build/Release/trainer_native.node', import.meta.url));

/** What to do when the addon is missing; the same words as the install script's. */
export const NATIVE_BUILD_HINT = 'install g++ make libopenblas-dev, then npm run build:native';

const require = createRequire(import.meta.url);

/** Loads the addon and checks that it has the functions `fns`, or throws one line saying why not and what to do. */
export function requireNativeAddon<T>(file: string, fns: ReadonlyArray<keyof T & string>): T {
  if (!existsSync(file)) throw new Error(`addon not built (${NATIVE_BUILD_HINT})`);
  let addon: T;
  try {
    addon = require(file) as T;
  } catch (err) {
    // Typically libopenblas.so.0 missing at run time, or a build for another Node ABI.
    throw new Error(`addon does not load: ${errorMessage(err).split('\n')[0]} (${NATIVE_BUILD_HINT})`);
  }
  for (const fn of fns) {
    if (typeof addon[fn] !== 'function') throw new Error(`addon at ${file} lacks ${fn}: rebuild it (npm run build:native)`);
  }
  return addon;
}

/** Loads the addon, or throws one line saying why not and what to do. */
export function loadNativeAddon(file = NATIVE_ADDON_PATH): NativeAddon {
  return requireNativeAddon<NativeAddon>(file, ['matmul', 'conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'adam', 'adamParts', 'sumRows', 'leakyRelu', 'greater', 'select', 'tanh', 'activationGrad', 'batchNorm', 'batchNormMoving', 'batchNormGrad', 'allFinite', 'setThreads', 'getThreads']);
}
