import { createHash } from 'node:crypto';

export const ARCHS = ['mlp', 'dcgan'] as const;
export type Arch = (typeof ARCHS)[number];
export const ALLREDUCE_MODES = ['auto', 'ring', 'rhd', 'star', 'shm'] as const;
export type AllreduceMode = (typeof ALLREDUCE_MODES)[number];
/** What gradients travel as in the all-reduce (--compression): float32, or 16-bit (allreduce/compression.ts). */
export const COMPRESSIONS = ['none', 'fp16', 'bf16'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
/** Where workers get their training examples (--data): shipped by the coordinator, or read from their own bundled MNIST. */
export const DATA_SOURCES = ['coordinator', 'local'] as const;
export type DataSource = (typeof DATA_SOURCES)[number];
export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * --lr-decay's default: constant. Decaying over the second half lowered the DCGAN's FID in the
 * middle of the run but ended above the constant rate's (10.27 against 9.64, with the generator before
 * its 7×7 convolution; docs/results.md).
 */
export const DEFAULT_LR_DECAY = 0;

/** --ema-decay's default: the generator's weight average over about the last 1000 steps (weightAverage.ts). */
export const DEFAULT_EMA_DECAY = 0.999;

/** What every replica must agree on; the coordinator sends it to each worker. */
export interface TrainConfig {
  arch: Arch;
  latentDim: number;
  /** Examples per worker per step with `world` workers; the global batch stays world × batchSize whatever the membership. */
  batchSize: number;
  /** Most workers at once (--workers). */
  world: number;
  /** Fewest workers training continues with (--min-workers); below it the coordinator waits rejoinTimeoutMs for more. */
  minWorkers: number;
  steps: number;
  stepsPerEpoch: number;
  lr: number;
  /** The discriminator's learning rate when it differs from lr (two time-scale update rule, Heusel et al. 2017); absent: lr. */
  dLr?: number;
  /** Fraction of the run's last steps over which both learning rates fall linearly towards zero (gan/lrSchedule.ts); absent or 0: constant. */
  lrDecay?: number;
  /**
   * One-sided label smoothing (Salimans et al. 2016): D's target for real images is 1 − this, for fakes 0, and G's
   * stays 1; absent or 0: none.
   */
  labelSmoothing?: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  seed: number;
  allreduce: AllreduceMode;
  /** What gradients travel as in the all-reduce; absent: 'none' (float32). */
  compression?: Compression;
  /** Where workers get their examples; absent: 'coordinator' (it ships each step's slices). */
  data?: DataSource;
  /** With data 'local': the first this many examples of the bundled training set (the coordinator's --limit, or all of them). */
  dataExamples?: number;
  /** Replica hashes are compared every this many steps (and at the end). */
  checkEvery: number;
  /** Any wait on a peer longer than this is an error. */
  timeoutMs: number;
  /** Rank 0 sends its weights every this many steps for a sample grid; 0: only at the end. */
  sampleEvery: number;
  /** Workers report the spans of each step for a Chrome trace. */
  timeline: boolean;
  /** Rank 0 sends its full state (weights and optimizers) for a checkpoint every this many steps; 0: only at the end. */
  checkpointEvery: number;
  /** Workers and coordinator send each other a heartbeat this often. */
  heartbeatMs: number;
  /** A side silent for longer than this is taken for dead. */
  workerTimeoutMs: number;
  rejoinTimeoutMs: number;
  /** Rank 0 sends its weights every this many steps for an MNIST-FID evaluation; 0: none. */
  evalEvery: number;
  /** Per-step decay of the generator's weight average (weightAverage.ts) that samples, evaluations and the exported generator use; absent or 0: none. */
  emaDecay?: number;
}

/**
 * Hash of what determines the model: the config fields every replica must share
 * and the parameter shapes the replica really built. Coordinator and worker compute
 * it independently; a difference means different code or a different config.
 */
export function modelHash(config: TrainConfig, paramShapes: Array<{ name: string; shape: number[]; trainable: boolean }>): string {
  const { arch, latentDim, batchSize, world, lr, beta1, beta2, epsilon, seed, allreduce } = config;
  const canonical = JSON.stringify({ arch, latentDim, batchSize, world, lr, beta1, beta2, epsilon, seed, allreduce, emaDecay: config.emaDecay ?? 0,
    // The schedule depends on the run's length only while it decays.
    lrDecay: config.lrDecay ?? 0, ...(config.lrDecay ? { steps: config.steps } : {}),
    // Only when set, so that runs with one rate keep the hash they had before it existed.
    ...(config.dLr !== undefined ? { dLr: config.dLr } : {}), ...(config.labelSmoothing ? { labelSmoothing: config.labelSmoothing } : {}),
    params: paramShapes });
  return createHash('sha256').update(canonical).digest('hex');
}
