import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { BackendName } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { tf } from './tf.js';
import {
  type TensorflowBackendInfo, type WebgpuAdapterInfo, cudaDeviceEnv, parseDawnAdapterList, tensorflowDevice, webgpuAdapterName, webgpuAdapterVerdict,
} from './gpuSelect.js';
import { installWasmConvFilterGradient, installWasmConvInputFastPath, installWasmTileFastPath } from './wasmConvKernels.js';
import { installWasmMatMulFastPath } from './wasmFastPaths.js';
import { setWebgpuKernels } from './webgpuKernels.js';
import { NATIVE_BUILD_HINT, loadNativeAddon } from '../compute/nativeAddon.js';
import { installNativeKernels } from '../compute/nativeKernels.js';
import { installWasmSplitFastPath } from '../compute/wasmSplit.js';
import { installWasmIdentityFastPath } from '../compute/wasmIdentity.js';

export interface BackendChoice {
  name: Exclude<BackendName, 'auto'>;
  /** Why this one, and why the ones before it in `auto` order were skipped. */
  reasons: string[];
  /** The device, where the backend can tell (the WebGPU adapter). */
  device?: string;
}

export interface BackendOptions {
  /** Off only to measure tfjs's own wasm kernels against the fast paths (bench:backends); the missing convolution filter gradient is provided either way. */
  wasmFastPath?: boolean;
  /**
   * The trainer's own WGSL kernels on webgpu (dense layers, loss, Adam; default on). Off only to
   * measure tfjs's kernels against them (bench:backends, gpu-check, bareReplicaStep).
   */
  webgpuKernels?: boolean;
  /** GPU index (nvidia-smi order) for tensorflow and webgpu. */
  gpu?: number;
  /** OpenBLAS threads of the native backend (default 1: each worker has its core). */
  threads?: number;
  /** The native addon's file; tests point it elsewhere to make the load fail. */
  nativeAddonPath?: string;
}

/**
 * Activates a backend; resolves with its device where it can tell, and anything the user should know.
 * `requestedByName`: false under `auto`, which may pass over a backend that loads (PassedOver).
 */
export type Loader = (options: BackendOptions, requestedByName: boolean) => Promise<{ device?: string; warning?: string }>;

/** A backend that would load but that `auto` does not want (a CPU implementation of WebGPU); logged, unlike one that is simply missing. */
class PassedOver extends Error {}

/** GPU names in nvidia-smi's (PCI) order; none where nvidia-smi is missing. */
function nvidiaSmiNames(): string[] {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter((l) => l) : [];
}

const require = createRequire(import.meta.url);

async function loadTensorflow({ gpu }: BackendOptions): Promise<{ device?: string; warning?: string }> {
  // libtensorflow reads these once, when it loads: they must be set before the import.
  if (gpu !== undefined) Object.assign(process.env, cudaDeviceEnv(gpu));
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('backend failed to initialize');
      const info = tf.backend() as unknown as TensorflowBackendInfo;
      return tensorflowDevice(info, gpu, info.isUsingGpuDevice ? nvidiaSmiNames()[gpu ?? 0] : undefined);
    } catch (err) {
      errors.push(`${pkg}: ${errorMessage(err).split('\n')[0]}`);
    }
  }
  // What the host needs, said once: the packages download a prebuilt libtensorflow at install time.
  throw new Error(`neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads (${errors.join('; ')}); `
    + 'install @tensorflow/tfjs-node-gpu 4.22 where its install step can download libtensorflow 2.9.1, which needs CUDA 11.2 and cuDNN 8.1 '
    + '(on other CUDA versions it runs on the CPU), or @tensorflow/tfjs-node for the CPU');
}

/** Whether the dynamic linker can find libvulkan.so.1: in its cache or in LD_LIBRARY_PATH. */
function hasVulkanLoader(): boolean {
  const name = 'libvulkan.so.1';
  try {
    if (readFileSync('/etc/ld.so.cache').includes(name)) return true;
  } catch {
    // no cache: fall through to LD_LIBRARY_PATH
  }
  return (process.env.LD_LIBRARY_PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(path.join(dir, name)));
}

interface GpuAdapterLike {
  info?: WebgpuAdapterInfo;
  /** Where older WebGPU implementations put it; newer ones have it on `info`. */
  isFallbackAdapter?: boolean;
}

/**
 * WebGPU through Dawn (npm `webgpu`): needs only a Vulkan driver, no CUDA. The
 * backend module registers itself only if `navigator.gpu` exists when it is
 * first imported, so the globals go in first.
 */
async function loadWebgpu({ gpu, webgpuKernels }: BackendOptions, requestedByName: boolean): Promise<{ device?: string; warning?: string }> {
  // Dawn prints its own warning to stderr when it finds no Vulkan loader; ask the dynamic linker first.
  if (process.platform === 'linux' && !hasVulkanLoader()) throw new Error('no Vulkan loader (libvulkan.so.1): the host needs a GPU with a Vulkan driver');
  let dawn: Dawn & { globals: object };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (err) {
    throw new Error(`needs the optional packages webgpu and @tensorflow/tfjs-backend-webgpu (${errorMessage(err).split('\n')[0]})`);
  }
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, dawn.globals);
    const flags = gpu === undefined ? [] : [`adapter=${webgpuAdapterName(gpu, await dawnAdapterNames(dawn), nvidiaSmiNames())}`];
    const instance = dawn.create(flags);
    // Node 20 has no navigator; later versions have one without `gpu`.
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: instance, configurable: true });
    else g.navigator = { gpu: instance };
  }
  const adapter = await (g.navigator!.gpu as { requestAdapter(o?: object): Promise<GpuAdapterLike | null> }).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter: the host needs a GPU with a Vulkan driver');
  // Dawn's info fields are getters on the prototype: read them one by one (a spread would copy nothing).
  const i = adapter.info ?? {};
  const info = { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter ?? adapter.isFallbackAdapter };
  const verdict = webgpuAdapterVerdict(info, requestedByName);
  if (!verdict.use) throw new PassedOver(verdict.reason);
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('backend failed to initialize');
  setWebgpuKernels(tf, webgpuKernels !== false);
  return { ...(verdict.device ? { device: verdict.device } : {}), ...(verdict.warning ? { warning: verdict.warning } : {}) };
}

type Dawn = { create(flags: string[]): { requestAdapter(o?: object): Promise<GpuAdapterLike | null> } };

/** Dawn lists every adapter's name when asked for one that does not exist; that is the only listing it offers. */
async function dawnAdapterNames(dawn: Dawn): Promise<string[]> {
  try {
    await dawn.create(['adapter=trainer-lists-adapters']).requestAdapter();
    return [];
  } catch (err) {
    return parseDawnAdapterList(errorMessage(err));
  }
}

/** Puts back the kernels the native backend replaced, so that a later `wasm` is wasm's own. */
let uninstallNative: (() => void) | undefined;

async function loadWasm(options: BackendOptions): Promise<object> {
  uninstallNative?.();
  uninstallNative = undefined;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries are read from the package's dist folder, not fetched.
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('backend failed to initialize');
  installWasmConvFilterGradient(tf);
  if (options.wasmFastPath !== false) {
    installWasmMatMulFastPath(tf);
    installWasmConvInputFastPath(tf);
    installWasmTileFastPath(tf);
    installWasmSplitFastPath(tf);
    installWasmIdentityFastPath(tf);
  }
  return {};
}

/**
 * The wasm backend with its matrix products and convolutions run by the native
 * addon (OpenBLAS) on the wasm heap in place; every other kernel stays wasm's.
 */
async function loadNative(options: BackendOptions): Promise<{ device: string }> {
  // Before the wasm backend: a missing addon must leave no backend half set up.
  const addon = loadNativeAddon(options.nativeAddonPath);
  await loadWasm(options);
  uninstallNative = installNativeKernels(tf, addon);
  addon.setThreads(options.threads ?? 1);
  const threads = addon.getThreads();
  return { device: `CPU, OpenBLAS ${threads} thread${threads === 1 ? '' : 's'}` };
}

async function loadCpu(): Promise<object> {
  if (!(await tf.setBackend('cpu'))) throw new Error('backend failed to initialize');
  return {};
}

const LOADERS: Record<Exclude<BackendName, 'auto'>, Loader> = {
  tensorflow: loadTensorflow,
  webgpu: loadWebgpu,
  native: loadNative,
  wasm: loadWasm,
  cpu: loadCpu,
};
const AUTO_ORDER = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;

/**
 * Activates the requested backend. `auto` takes the first that loads in
 * AUTO_ORDER; a backend asked for by name that cannot load is a ConfigError.
 * `loaders` replaces some of the real ones: tests inject failures with it, so
 * that what they check does not depend on what the host has installed.
 */
export async function selectBackend(requested: BackendName, logger: Logger, options: BackendOptions = {},
  loaders: Partial<Record<Exclude<BackendName, 'auto'>, Loader>> = {}): Promise<BackendChoice> {
  const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
  const reasons: string[] = [];
  for (const name of candidates) {
    try {
      const { device, warning } = await (loaders[name] ?? LOADERS[name])(options, requested !== 'auto');
      await tf.ready();
      if (warning) logger.log('warn', warning, { backend: name });
      if (options.threads !== undefined && name !== 'native') logger.log('warn', `--threads ${options.threads} does not apply: only the native backend uses BLAS threads`, { backend: name });
      // A CPU worker that could not use the native kernels says so, once: it runs several times slower.
      const nativeSkip = reasons.find((r) => r.startsWith('skipped native: '));
      if (nativeSkip) logger.log('warn', `${nativeSkip.slice('skipped '.length)}; running ${name}`, { backend: name, hint: NATIVE_BUILD_HINT });
      if (options.gpu !== undefined && (name === 'native' || name === 'wasm' || name === 'cpu')) logger.log('warn', `--gpu ${options.gpu} does not apply: the ${name} backend runs on the CPU`, { backend: name });
      reasons.push(requested === 'auto' ? `${name}: first backend that loads` : `${name}: requested`);
      logger.log('info', `backend ${name}${device ? ` (${device})` : ''}`, { backend: name, reasons, ...(device ? { device } : {}) });
      return { name, reasons, ...(device ? { device } : {}) };
    } catch (err) {
      const why = `${name}: ${errorMessage(err)}`;
      if (requested !== 'auto') throw new ConfigError(`backend ${why}`);
      reasons.push(`skipped ${why}`);
      if (err instanceof PassedOver) logger.log('info', `backend ${name} skipped: ${errorMessage(err)}`, { backend: name });
    }
  }
  throw new ConfigError(`no TensorFlow.js backend loads: ${reasons.join('; ')}`);
}
