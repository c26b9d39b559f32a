/**
 * Where a training step's GPU dispatches come from on webgpu: every kernel of
 * the webgpu backend is wrapped and the dispatches it makes (its own and those
 * of kernels it calls) are counted, per phase of the step (D: D's gradients,
 * Dadam: D's update, G, Gadam), over one step after a warm-up step.
 *
 *   node dist/scripts/webgpuDispatches.js ARCH [--no-webgpu-kernels]
 *
 * Prints one JSON line: total dispatches and, per phase, the count per kernel.
 */
import { trainConfig } from '../test/fixtures/trainConfig.js';
import { selectBackend } from '../src/shared/gan/backend.js';
import { seededReplica } from './seededReplica.js';
import { tf } from '../src/shared/gan/tf.js';
import { countGpuWork } from '../src/shared/gan/gpuWork.js';
import { silentLogger } from '../src/shared/logger.js';

const ARCH = process.argv[2] as 'mlp' | 'dcgan';
if (ARCH !== 'mlp' && ARCH !== 'dcgan') {
  console.error('usage: webgpuDispatches.js mlp|dcgan [--no-webgpu-kernels]');
  process.exit(2);
}
const BATCH = 64;
await selectBackend('webgpu', silentLogger, { webgpuKernels: !process.argv.includes('--no-webgpu-kernels') });
const config = trainConfig({ arch: ARCH, batchSize: BATCH, steps: 3, stepsPerEpoch: 1 });
const { replica, z, images } = seededReplica(tf, config);
const counts = countGpuWork(tf.backend())!;
const totals = new Map<string, number>();
let depth = 0;
let cur = '';
for (const k of tf.getKernelsForBackend('webgpu')) {
  const inner = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'webgpu');
  tf.registerKernel({ ...k, kernelFunc: ((args: Parameters<typeof inner>[0]) => {
    depth++;
    const before = counts.dispatches;
    try {
      return inner(args);
    } finally {
      depth--;
      if (depth === 0) {
        const key = `${cur}:${k.kernelName}`;
        totals.set(key, (totals.get(key) ?? 0) + counts.dispatches - before);
      }
    }
  }) as typeof inner });
}
async function step(): Promise<void> {
  cur = 'D';
  const d = await replica.discriminatorGradients(images, z);
  cur = 'Dadam';
  replica.applyDiscriminator(d.grads, 1);
  cur = 'G';
  const g = await replica.generatorGradients(z);
  cur = 'Gadam';
  replica.applyGenerator(g.grads, 1);
}
await step();
totals.clear();
const b = counts.dispatches;
await step();
const byPhase: Record<string, Record<string, number>> = {};
for (const [key, n] of [...totals].filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1])) {
  const [phase, kernel] = key.split(':') as [string, string];
  (byPhase[phase] ??= {})[kernel] = n;
}
console.log(JSON.stringify({ arch: ARCH, batch: BATCH, dispatches: counts.dispatches - b, byPhase }));
