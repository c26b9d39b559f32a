/**
 * The trainer's bare replica step, for bench:peer: what a worker of a 1-worker run does per step
 * (trainStep with the one-rank identity reduce, then commit), on the coordinator's MNIST batches for
 * its default seed, with no coordinator, sockets, hashes or protocol around it.
 *
 *   node dist/scripts/bareReplicaStep.js ARCH BACKEND BATCH WARMUP STEPS [--no-webgpu-kernels]
 *
 * --no-webgpu-kernels: on webgpu, tfjs's kernels alone, without the trainer's WGSL kernels (the "before" of an A/B).
 * Prints one JSON line: the backend that really runs (not the one asked for) and img/s over the
 * STEPS steps after WARMUP untimed ones; on webgpu also each timed step's GPU dispatches and read-backs.
 */
import { ARCHS, type Arch, BACKENDS, type BackendName } from '../src/shared/config.js';
import { DataFeeder } from '../src/shared/data/dataFeeder.js';
import { loadTrainingSet } from '../src/shared/data/dataset.js';
import { initialWeights } from '../src/shared/gan/architecture.js';
import { archSpecs } from '../src/shared/gan/archs.js';
import { selectBackend } from '../src/shared/gan/backend.js';
import { GanReplica } from '../src/shared/gan/replica.js';
import { type GpuWorkCounts, countGpuWork, gpuWorkSince } from '../src/shared/gan/gpuWork.js';
import { tf } from '../src/shared/gan/tf.js';
import { type Reduce, trainStep } from '../src/shared/gan/trainStep.js';
import { silentLogger } from '../src/shared/logger.js';
import { oneWorkerConfig } from './oneWorkerConfig.js';

const args = process.argv.slice(2);
const webgpuKernels = !args.includes('--no-webgpu-kernels');
const [archArg, backendArg, ...numbers] = args.filter((a) => a !== '--no-webgpu-kernels');
const [batch, warmup, steps] = numbers.map(Number) as [number, number, number];
if (!ARCHS.includes(archArg as Arch) || !BACKENDS.includes(backendArg as BackendName) || numbers.length !== 3 || ![batch, warmup, steps].every((n) => Number.isInteger(n) && n >= 0) || batch < 1 || steps < 1) {
  console.error('usage: bareReplicaStep.js ARCH BACKEND BATCH WARMUP STEPS [--no-webgpu-kernels]');
  process.exit(2);
}
const arch = archArg as Arch;

const backend = await selectBackend(backendArg as BackendName, silentLogger, { webgpuKernels });
const data = loadTrainingSet();
// The coordinator's config for `--workers 1 --batch-size BATCH --arch ARCH --seed 42` (oneWorkerConfig.ts).
const config = oneWorkerConfig(arch, batch, warmup + steps, 42, data.count);
const specs = archSpecs(arch, config.latentDim);
const replica = new GanReplica(tf, config);
replica.setWeights(initialWeights(specs.generator, config.seed), initialWeights(specs.discriminator, config.seed));
replica.commit();
const feeder = new DataFeeder(data, config);
// A worker alone in its world averages with nobody: its reduce hands the buffer back.
const identity: Reduce = (_step, _phase, grads) => Promise.resolve(grads);

const gpuWork = countGpuWork(tf.backend());
const gpuWorkPerStep: GpuWorkCounts[] = [];
let t0 = performance.now();
for (let step = 1; step <= warmup + steps; step++) {
  if (step === warmup + 1) t0 = performance.now();
  const before = gpuWork && { ...gpuWork };
  await trainStep(replica, config, feeder.batchFor(step, 0, 1), identity, { world: 1 });
  if (gpuWork && before && step > warmup) gpuWorkPerStep.push(gpuWorkSince(before, gpuWork));
  replica.commit();
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({
  arch, requested: backendArg, backend: backend.name, ...(backend.name === 'webgpu' ? { webgpuKernels } : {}), ...(backend.device ? { device: backend.device } : {}), batch, warmup, steps, imagesPerSecond: (steps * batch) / seconds, seconds,
  ...(gpuWork ? { gpuWorkPerStep } : {}),
}));
replica.dispose();
