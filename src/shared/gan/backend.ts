import { createRequire } from 'node:module';
import path from 'node:path';
import type { BackendName } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { tf } from './tf.js';
import { installWasmMatMulFastPath } from './wasmFastPaths.js';

export interface BackendChoice {
  name: Exclude<BackendName, 'auto'>;
  /** Why this one, and why the ones before it in `auto` order were skipped. */
  reasons: string[];
}

type Loader = () => Promise<void>;

const require = createRequire(import.meta.url);

async function loadTensorflow(): Promise<void> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('backend failed to initialize');
      return;
    } catch (err) {
      errors.push(`${pkg}: ${errorMessage(err).split('\n')[0]}`);
    }
  }
  throw new Error(`neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads (${errors.join('; ')})`);
}

async function loadWebgpu(): Promise<void> {
  try {
    require.resolve('@tensorflow/tfjs-backend-webgpu');
    require.resolve('webgpu');
  } catch {
    throw new Error('needs the packages @tensorflow/tfjs-backend-webgpu and webgpu, which are not installed');
  }
  throw new Error('is not wired up in this version');
}

async function loadWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries are read from the package's dist folder, not fetched.
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('backend failed to initialize');
  installWasmMatMulFastPath(tf);
}

async function loadCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('backend failed to initialize');
}

const LOADERS: Record<Exclude<BackendName, 'auto'>, Loader> = {
  tensorflow: loadTensorflow,
  webgpu: loadWebgpu,
  wasm: loadWasm,
  cpu: loadCpu,
};
const AUTO_ORDER = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/**
 * Activates the requested backend. `auto` takes the first that loads in
 * AUTO_ORDER; a backend asked for by name that cannot load is a ConfigError.
 */
export async function selectBackend(requested: BackendName, logger: Logger): Promise<BackendChoice> {
  const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
  const reasons: string[] = [];
  for (const name of candidates) {
    try {
      await LOADERS[name]();
      await tf.ready();
      reasons.push(requested === 'auto' ? `${name}: first backend that loads` : `${name}: requested`);
      logger.log('info', `backend ${name}`, { backend: name, reasons });
      return { name, reasons };
    } catch (err) {
      const why = `${name}: ${errorMessage(err)}`;
      if (requested !== 'auto') throw new ConfigError(`backend ${why}`);
      reasons.push(`skipped ${why}`);
    }
  }
  throw new ConfigError(`no TensorFlow.js backend loads: ${reasons.join('; ')}`);
}
