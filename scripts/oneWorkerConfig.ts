import type { Arch, TrainConfig } from '../src/shared/config.js';
import { stepsPerEpoch } from '../src/shared/data/sharding.js';

/**
 * The train config of `trainer coordinator --workers 1 --arch ARCH --batch-size BATCH --steps STEPS
 * --seed SEED` with the DCGAN paper's Adam (lr 2e-4, β1 0.5) and no learning-rate decay or weight
 * average, over `examples` training images: what the bare-replica scripts run without a coordinator.
 */
export function oneWorkerConfig(arch: Arch, batch: number, steps: number, seed: number, examples: number): TrainConfig {
  return {
    arch, latentDim: 100, batchSize: batch, world: 1, minWorkers: 1, steps, stepsPerEpoch: stepsPerEpoch(examples, batch),
    lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, seed, allreduce: 'ring', checkEvery: 50, timeoutMs: 60_000, sampleEvery: 0,
    timeline: false, checkpointEvery: 0, heartbeatMs: 1000, workerTimeoutMs: 10_000, rejoinTimeoutMs: 60_000, evalEvery: 0,
  };
}
