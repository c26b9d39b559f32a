/**
 * bench:kernels — where one training step's time goes on wasm: every kernel is
 * wrapped with a timer (wasm kernels run synchronously, so wall time is theirs)
 * and a few steps of the replica are run after a warm-up step. PROFILE_ARCH
 * (dcgan), PROFILE_BATCH (64), PROFILE_STEPS (3), PROFILE_FAST_PATHS (1; 0 for
 * tfjs's own kernels). Prints one JSON line: step ms, and ms and calls per step
 * for each kernel, largest first.
 */
import { ARCHS, type Arch } from '../src/shared/config.js';
import { trainConfig } from '../test/fixtures/trainConfig.js';
import { selectBackend } from '../src/shared/gan/backend.js';
import { seededReplica } from './seededReplica.js';
import { tf } from '../src/shared/gan/tf.js';
import { silentLogger } from '../src/shared/logger.js';

const ARCH = (process.env.PROFILE_ARCH ?? 'dcgan') as Arch;
if (!ARCHS.includes(ARCH)) throw new Error(`PROFILE_ARCH must be one of ${ARCHS.join(', ')}`);
const BATCH = Number(process.env.PROFILE_BATCH ?? 64);
const STEPS = Number(process.env.PROFILE_STEPS ?? 3);
const FAST = process.env.PROFILE_FAST_PATHS !== '0';
const BACKEND = process.env.PROFILE_BACKEND ?? 'wasm';
if (BACKEND !== 'wasm' && BACKEND !== 'native') throw new Error('PROFILE_BACKEND must be wasm or native');
const CLOCK = process.env.PROFILE_CLOCK ?? 'wall';
if (CLOCK !== 'wall' && CLOCK !== 'cpu') throw new Error('PROFILE_CLOCK must be wall or cpu');
const now = CLOCK === 'wall' ? () => performance.now() : () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

await selectBackend(BACKEND, silentLogger, { wasmFastPath: FAST });
const config = trainConfig({ arch: ARCH, batchSize: BATCH, steps: STEPS, stepsPerEpoch: 1 });
const { replica, z, images } = seededReplica(tf, config);

// Nested kernel calls (ours call BatchMatMul and Transpose) count toward the outer kernel only.
const totals = new Map<string, { ms: number; calls: number }>();
let depth = 0;
for (const k of tf.getKernelsForBackend('wasm')) {
  const inner = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({
    ...k,
    kernelFunc: ((args: Parameters<typeof inner>[0]) => {
      depth++;
      const t0 = now();
      try {
        return inner(args);
      } finally {
        depth--;
        if (depth === 0) {
          const e = totals.get(k.kernelName) ?? { ms: 0, calls: 0 };
          e.ms += now() - t0;
          e.calls++;
          totals.set(k.kernelName, e);
        }
      }
    }) as typeof inner,
  });
}

async function step(): Promise<void> {
  const d = await replica.discriminatorGradients(images, z);
  replica.applyDiscriminator(d.grads, 1);
  const g = await replica.generatorGradients(z);
  replica.applyGenerator(g.grads, 1);
}

await step();
totals.clear();
const t0 = now();
for (let i = 0; i < STEPS; i++) await step();
const stepMs = (now() - t0) / STEPS;
const kernels = [...totals].map(([name, e]) => ({ name, ms: Number((e.ms / STEPS).toFixed(1)), calls: e.calls / STEPS })).sort((a, b) => b.ms - a.ms);
const kernelMs = kernels.reduce((n, k) => n + k.ms, 0);
console.log(JSON.stringify({ bench: 'kernels', arch: ARCH, backend: BACKEND, clock: CLOCK, batch: BATCH, fastPaths: FAST, stepMs: Number(stepMs.toFixed(1)), kernelMs: Number(kernelMs.toFixed(1)), kernels }));
