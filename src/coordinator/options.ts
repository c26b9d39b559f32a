import type { AllreduceMode, Arch, BackendName, Compression, DataSource } from '../shared/config.js';
import type { KeyPair } from '../shared/security/curveKeys.js';

/** Everything the coordinator needs, validated and frozen by the CLI. */
export interface CoordinatorOptions {
  /** Most workers at once; the global batch is workers × batchSize. */
  workers: number;
  /** Fewest workers training continues with when workers are lost. */
  minWorkers: number;
  /** How long to wait for workers to (re)join when fewer than minWorkers remain. */
  rejoinTimeoutMs: number;
  /** Exactly one of steps and epochs is set. */
  steps: number | undefined;
  epochs: number | undefined;
  batchSize: number;
  arch: Arch;
  allreduce: AllreduceMode;
  /** What gradients travel as in the all-reduce: float32 or 16-bit. */
  compression: Compression;
  lr: number;
  /** The discriminator's learning rate (--d-lr); undefined: lr. */
  dLr?: number | undefined;
  beta1: number;
  beta2: number;
  epsilon: number;
  seed: number;
  /** Directory of IDX files; undefined means the bundled MNIST. */
  dataDir: string | undefined;
  /** --data local: workers read the bundled set themselves and the coordinator ships no batches; absent: 'coordinator'. */
  dataSource?: DataSource;
  limit: number | undefined;
  out: string;
  backend: BackendName;
  /** OpenBLAS threads per worker (--threads), forwarded to the workers it launches; undefined: theirs default. */
  threads: number | undefined;
  bind: string;
  port: number;
  checkEvery: number;
  timeoutMs: number;
  registerTimeoutMs: number;
  /** Per-step decay of the generator's weight average (weightAverage.ts); 0: none. */
  emaDecay: number;
  /** Fraction of the run's last steps over which both learning rates decay linearly (lrSchedule.ts); 0: constant. */
  lrDecay: number;
  /** One-sided label smoothing: D's target for real images is 1 − this; 0: none. */
  labelSmoothing: number;
  /** Steps of data shipped ahead of the slowest worker. */
  prefetch: number;
  /** MNIST-FID of rank 0's generator every this many steps (and at the end); 0: none. */
  evalEvery: number;
  /** Images per evaluation during training. */
  evalCount: number;
  /** Save the generator with the best MNIST-FID as OUT/generator-best. */
  keepBest: boolean;
  /** A sample grid every this many steps; 0: only the final one. */
  sampleEvery: number;
  /** A progress record every this many steps; 0: about one a second. */
  logEvery: number;
  /** Chrome trace file to write, if any. */
  timeline: string | undefined;
  /** A checkpoint every this many steps (and always at the end); 0: only at the end. */
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Continue from the newest valid checkpoint in this directory. */
  resume: string | undefined;
  /** Steps with non-finite averaged gradients (skipped on every replica) tolerated before the run stops. */
  maxBadSteps: number;
  heartbeatMs: number;
  workerTimeoutMs: number;
  /** CURVE: the coordinator's key pair and the admitted workers' public keys; undefined: plain TCP. */
  curve: { own: KeyPair; authorized: Set<string> } | undefined;
}
