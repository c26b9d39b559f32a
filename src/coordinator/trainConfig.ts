import type { TrainConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import { stepsPerEpoch as countStepsPerEpoch } from '../shared/data/sharding.js';
import { stateSize } from '../shared/gan/architecture.js';
import { archSpecs } from '../shared/gan/archs.js';
import type { Checkpoint } from './checkpointFormat.js';
import type { CoordinatorOptions } from './options.js';

/** Turns the options into the config every replica shares; fails on combinations that cannot run. */
export function buildTrainConfig(opts: CoordinatorOptions, examples: number): TrainConfig {
  const globalBatch = opts.workers * opts.batchSize;
  const perEpoch = countStepsPerEpoch(examples, globalBatch);
  if (perEpoch < 1) {
    throw new ConfigError(`${examples} training examples do not fill one global batch of ${globalBatch} (${opts.workers} workers × batch ${opts.batchSize}); raise --limit or lower --batch-size`);
  }
  if (opts.minWorkers > opts.workers) throw new ConfigError(`--min-workers ${opts.minWorkers} is more than --workers ${opts.workers}`);
  if (opts.minWorkers < opts.workers && opts.timeoutMs <= opts.workerTimeoutMs) {
    // Survivors would give up on their all-reduce before the coordinator has noticed the lost worker.
    throw new ConfigError(`--timeout ${opts.timeoutMs / 1000} s must exceed --worker-timeout ${opts.workerTimeoutMs / 1000} s when --min-workers is below --workers`);
  }
  const steps = opts.steps ?? (opts.epochs ?? 1) * perEpoch;
  return {
    arch: opts.arch, latentDim: 100, batchSize: opts.batchSize, world: opts.workers, minWorkers: opts.minWorkers, steps, stepsPerEpoch: perEpoch,
    lr: opts.lr, beta1: opts.beta1, beta2: opts.beta2, epsilon: opts.epsilon, seed: opts.seed, allreduce: opts.allreduce, compression: opts.compression,
    checkEvery: opts.checkEvery, timeoutMs: opts.timeoutMs, sampleEvery: opts.sampleEvery, timeline: opts.timeline !== undefined,
    checkpointEvery: opts.checkpointEvery, heartbeatMs: opts.heartbeatMs, workerTimeoutMs: opts.workerTimeoutMs, rejoinTimeoutMs: opts.rejoinTimeoutMs,
    evalEvery: opts.evalEvery,
    ...(opts.emaDecay > 0 ? { emaDecay: opts.emaDecay } : {}),
    ...(opts.lrDecay > 0 ? { lrDecay: opts.lrDecay } : {}),
    ...(opts.labelSmoothing > 0 ? { labelSmoothing: opts.labelSmoothing } : {}),
    // Absent unless it differs: the same run, whichever way it was asked for, has one config and one model hash.
    ...(opts.dLr !== undefined && opts.dLr !== opts.lr ? { dLr: opts.dLr } : {}),
    ...(opts.dataSource === 'local' ? { data: 'local' as const, dataExamples: examples } : {}),
  };
}

/**
 * Fields a resumed run must share with the checkpoint's, or it would not continue the same
 * trajectory. The number of workers may change if the global batch does not: data and noise
 * are keyed by global position, so M workers × B·N/M examples follow N × B (up to rounding,
 * and up to per-worker batch-norm statistics in the DCGAN's generator).
 */
const RESUME_FIELDS = ['arch', 'latentDim', 'lr', 'dLr', 'labelSmoothing', 'beta1', 'beta2', 'epsilon', 'seed', 'stepsPerEpoch'] as const;

export function checkResumable(c: Checkpoint, config: TrainConfig): void {
  const differ = RESUME_FIELDS.filter((f) => c.config[f] !== config[f]).map((f) => `${f} ${c.config[f]} (checkpoint) vs ${config[f]}`);
  const globalBatch = (x: TrainConfig): number => x.world * x.batchSize;
  if (globalBatch(c.config) !== globalBatch(config)) {
    const perWorker = globalBatch(c.config) / config.world;
    differ.push(`global batch ${c.config.world} × ${c.config.batchSize} (checkpoint) vs ${config.world} × ${config.batchSize}; `
      + (Number.isInteger(perWorker) ? `with ${config.world} worker${config.world === 1 ? '' : 's'} use --batch-size ${perWorker}` : `${globalBatch(c.config)} examples do not split evenly among ${config.world} workers`));
  }
  if (differ.length > 0) throw new ConfigError(`--resume: this run does not continue the checkpointed one: ${differ.join(', ')}; use the same flags (and data) as that run`);
  // The same flags name another model when an architecture changed between versions (the DCGAN's
  // generator gained a layer): say so here, not as a size error from every worker.
  const specs = archSpecs(config.arch, config.latentDim);
  const sizes = (['generator', 'discriminator'] as const)
    .filter((m) => c.weights[m].length !== stateSize(specs[m]))
    .map((m) => `its ${m} holds ${c.weights[m].length} values, --arch ${config.arch}'s has ${stateSize(specs[m])}`);
  if (sizes.length > 0) throw new ConfigError(`--resume: the checkpoint is of another model: ${sizes.join('; ')} (written by a version with another architecture)`);
  if (config.steps <= c.step) throw new ConfigError(`--resume: the checkpoint is at step ${c.step}; ask for more steps than that (--steps ${config.steps})`);
}
