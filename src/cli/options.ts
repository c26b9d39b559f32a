import type { Options } from 'yargs';
import { ALLREDUCE_MODES, ARCHS, BACKENDS, COMPRESSIONS, DEFAULT_EMA_DECAY, DEFAULT_LR_DECAY } from '../shared/config.js';

/**
 * Every command's options, as data: yargs builds the parser from them, and the
 * environment (TRAINER_*) and --config layers check names against them.
 */
export type OptionTable = Record<string, Options>;

const CONFIG: Options = { type: 'string', describe: 'JSON file of option values: flags > TRAINER_* environment > this file > defaults' };

/** Options of every command that computes. */
const BASIC = {
  backend: { choices: BACKENDS, default: 'auto' as const, describe: 'TensorFlow.js backend: auto tries tensorflow, webgpu, native (wasm with OpenBLAS products and convolutions), wasm, cpu in that order' },
  'log-format': { choices: ['auto', 'human', 'json'] as const, default: 'auto' as const, describe: 'human lines on a terminal, JSON lines otherwise (auto)' },
  verbose: { type: 'boolean', default: false, describe: 'also log debug records' },
  config: CONFIG,
} satisfies OptionTable;

/** Options of the training processes. */
const COMMON = {
  ...BASIC,
  metrics: { type: 'boolean', default: true, describe: 'serve Prometheus metrics (--no-metrics: do not)' },
  threads: { type: 'number', describe: 'OpenBLAS threads of each worker on the native backend (default 1: a worker per core)' },
} satisfies OptionTable;

const COORDINATOR = {
  ...COMMON,
  workers: { type: 'number', demandOption: true, describe: 'number of workers (world size)' },
  'min-workers': { type: 'number', describe: 'keep training with as few as M workers when workers are lost (default: --workers, that is, not elastic)' },
  'rejoin-timeout': { type: 'number', default: 60, describe: 'seconds to wait for workers to (re)join when fewer than --min-workers remain, before stopping with a checkpoint' },
  spawn: { type: 'boolean', default: false, describe: 'launch the workers as local processes' },
  'max-restarts': { type: 'number', default: 0, describe: 'with --spawn or --hosts: start a worker that fails again, up to N times per slot; it rejoins at a step boundary' },
  hosts: { type: 'string', describe: 'launch the workers over ssh on these hosts, HOST:SLOTS separated by commas (gpu1:2,gpu2:2), slot i of a host gets --gpu i' },
  'ssh-user': { type: 'string', describe: 'with --hosts: log in as this user (default: ssh\'s own choice)' },
  'ssh-port': { type: 'number', describe: 'with --hosts: sshd port on the hosts (default: ssh\'s own choice)' },
  'ssh-command': { type: 'string', default: 'ssh', describe: 'with --hosts: the ssh client and any options, e.g. "ssh -i ~/.ssh/trainer -o StrictHostKeyChecking=accept-new"' },
  'remote-trainer': { type: 'string', default: 'trainer', describe: 'with --hosts: how to run trainer on the hosts, e.g. "npx trainer" or "/opt/trainer/bin/trainer"' },
  advertise: { type: 'string', describe: 'with --hosts: the address the workers reach this coordinator at (default: first non-loopback IPv4)' },
  'spawn-gpus': { type: 'string', describe: 'with --spawn: GPU indexes handed to the workers in turn (--gpu), e.g. 0,1,2,3' },
  steps: { type: 'number', describe: 'training steps (global batches); default: one epoch' },
  epochs: { type: 'number', describe: 'training epochs, instead of --steps' },
  'batch-size': { type: 'number', default: 64, describe: 'examples per worker per step (global batch = workers × this)' },
  arch: { choices: ARCHS, default: 'mlp' as const, describe: 'model architecture' },
  allreduce: { choices: ALLREDUCE_MODES, default: 'auto' as const, describe: 'ring or rhd (recursive halving-doubling) among workers; auto: whichever the α-β model finds faster for the world and gradient size, from α and β measured at start-up (the ring when --compression is set); star: through the coordinator; shm: through POSIX shared memory when every worker is on one host and can map it (auto chooses it then too), else the ring' },
  compression: { choices: COMPRESSIONS, default: 'none' as const, describe: 'gradients on the wire: float32, or 16-bit fp16/bf16 (summed in float32, the average rounded once)' },
  lr: { type: 'number', default: 5e-4, describe: 'Adam learning rate (with beta1 0, 5e-4 trains the DCGAN about three times as fast as 2e-4, the DCGAN paper\'s; docs/results.md)' },
  beta1: { type: 'number', default: 0, describe: 'Adam beta1 (0: no momentum, which trains both GANs to better digits here than the usual 0.5; docs/results.md)' },
  beta2: { type: 'number', default: 0.999, describe: 'Adam beta2' },
  'd-lr': { type: 'number', describe: 'the discriminator\'s own Adam learning rate (two time-scale update rule); default: --lr' },
  'lr-decay': { type: 'number', default: DEFAULT_LR_DECAY, describe: 'fraction of the run\'s last steps over which both learning rates fall linearly towards zero (0, the default: constant; 0.5 did not beat it on the DCGAN: docs/results.md)' },
  'label-smoothing': { type: 'number', default: 0, describe: 'one-sided label smoothing: the discriminator\'s target for real images is 1 minus this (0.1 is the usual choice; 0, the default: none)' },
  'ema-decay': { type: 'number', default: DEFAULT_EMA_DECAY, describe: 'per-step decay of the moving average of the generator\'s weights that samples, evaluations and the exported generator use (0: none, the last weights)' },
  seed: { type: 'number', default: 42, describe: 'seed for weights, data order and noise' },
  data: { type: 'string', describe: 'coordinator (default): the coordinator ships each worker its slice of every step, from the bundled MNIST; local: each worker reads the bundled MNIST (with --limit) and cuts its own slice, the same examples, and the coordinator ships none; any other value: a directory with the four IDX files, shipped by the coordinator (./local for a directory of that name)' },
  limit: { type: 'number', describe: 'use only the first N training images' },
  out: { type: 'string', describe: 'output directory (default: ./runs/<timestamp>)' },
  bind: { type: 'string', default: '0.0.0.0', describe: 'address the control socket binds' },
  port: { type: 'number', default: 5555, describe: 'control port (0: any free port)' },
  'check-every': { type: 'number', default: 50, describe: 'compare replica hashes every N steps (and at the end)' },
  timeout: { type: 'number', default: 60, describe: 'seconds any step or collective may take before the run fails' },
  'register-timeout': { type: 'number', default: 120, describe: 'seconds to wait for all workers to join' },
  prefetch: { type: 'number', default: 2, describe: 'steps of data shipped ahead to each worker' },
  'metrics-port': { type: 'number', default: 9400, describe: 'serve /metrics, /healthz and /samples/latest.png here (0: any free port); spawned workers use the next ports' },
  'eval-every': { type: 'number', default: 0, describe: 'MNIST-FID of the generator every N steps and at the end, in a thread of its own (0: never)' },
  'eval-count': { type: 'number', default: 2000, describe: 'generated images per --eval-every evaluation' },
  'keep-best': { type: 'boolean', default: false, describe: 'with --eval-every: also save the generator with the best MNIST-FID as OUT/generator-best' },
  'sample-every': { type: 'number', default: 200, describe: 'write samples/step-NNNNNNN.png every N steps (0: only the final grid)' },
  'log-every': { type: 'number', default: 0, describe: 'a progress line every N steps (0: about one a second); on a terminal the bar updates anyway' },
  timeline: { type: 'string', describe: 'write a Chrome trace of every worker\'s step phases to this file' },
  'checkpoint-every': { type: 'number', default: 500, describe: 'write OUT/checkpoints/ckpt-NNNNNNNNN.bin every N steps and at the end (0: only at the end)' },
  'keep-checkpoints': { type: 'number', default: 3, describe: 'how many of the newest checkpoints to keep' },
  'curve-keys': { type: 'string', describe: 'directory made by trainer keygen: CURVE encryption, and only workers whose public key is in DIR/authorized/ are admitted' },
  'heartbeat-interval': { type: 'number', default: 1, describe: 'seconds between heartbeats, both ways' },
  'worker-timeout': { type: 'number', default: 10, describe: 'seconds of silence after which a worker (or, for the workers, the coordinator) is taken for dead' },
  'max-bad-steps': { type: 'number', default: 10, describe: 'steps whose averaged gradients hold NaN or Infinity (skipped on every replica) tolerated before the run stops' },
  resume: { type: 'string', describe: 'continue from the newest valid checkpoint in this run (or checkpoints) directory' },
} satisfies OptionTable;

/**
 * A worker's metrics port when none is given: the first free one from `first` on, so that
 * several workers started by hand on one host (one per GPU) each find their own.
 */
export const WORKER_METRICS_PORTS = { first: 9401, count: 64 } as const;

const WORKER = {
  ...COMMON,
  coordinator: { type: 'string', demandOption: true, describe: 'coordinator endpoint, tcp://HOST:PORT' },
  advertise: { type: 'string', describe: 'address other workers use to reach this one (default: first non-loopback IPv4)' },
  'bind-host': { type: 'string', default: '0.0.0.0', describe: 'interface the ring data port binds' },
  'data-port': { type: 'number', default: 0, describe: 'ring data port (0: any free port)' },
  'connect-timeout': { type: 'number', default: 60, describe: 'seconds to wait for the coordinator to answer' },
  // No yargs default: a port the user chose (flag, TRAINER_METRICS_PORT, --config) must be free; the default may move on.
  'metrics-port': { type: 'number', describe: `serve /metrics and /healthz here (default: the first free port of ${WORKER_METRICS_PORTS.first}-${WORKER_METRICS_PORTS.first + WORKER_METRICS_PORTS.count - 1}; 0: any free port; logged either way)` },
  gpu: { type: 'number', describe: 'GPU index, in nvidia-smi order, for the tensorflow and webgpu backends' },
  rank: { type: 'number', describe: 'the rank to ask for (workers that ask come first, in order); Kubernetes: the completion index' },
  'stop-on-stdin-close': { type: 'boolean', default: false, describe: 'exit when standard input closes: a launcher (ssh) that goes away takes the worker with it' },
  'protocol-version': { type: 'number', hidden: true },
  'fault-nan-step': { type: 'number', hidden: true },
  'fault-kill-step': { type: 'number', hidden: true },
  'fault-hang-step': { type: 'number', hidden: true },
  'fault-no-shm': { type: 'boolean', hidden: true },
  // To compare the two barrier kinds of the shared-memory all-reduce (the runs of a comparison set it on every worker, e.g. TRAINER_SHM_BARRIER=message).
  'shm-barrier': { choices: ['segment', 'message'] as const, default: 'segment' as const, hidden: true },
  'curve-keys': { type: 'string', describe: 'directory made by trainer keygen: encrypt and authenticate with CURVE (uses NAME.key/.pub and coordinator.pub)' },
  'curve-name': { type: 'string', default: 'worker', describe: 'which key pair in --curve-keys is this worker\'s' },
} satisfies OptionTable;

const GENERATE = {
  ...BASIC,
  model: { type: 'string', demandOption: true, describe: 'a generator directory saved by a run (RUN/generator)' },
  count: { type: 'number', default: 64, describe: 'how many images' },
  out: { type: 'string', demandOption: true, describe: 'PNG file to write' },
  seed: { type: 'number', default: 42, describe: 'noise seed (the run\'s seed and 64 images reproduce its final.png)' },
} satisfies OptionTable;

const EVALUATE = {
  ...BASIC,
  model: { type: 'string', describe: 'a generator directory saved by a run (RUN/generator); this or --images' },
  images: { type: 'string', describe: 'score these 28×28 images instead: IDX ubyte, or .npy of uint8, or floats in [-1, 1] or [0, 1]' },
  count: { type: 'number', default: 10_000, describe: 'images per set (with --images: the file\'s count)' },
  seed: { type: 'number', default: 42, describe: 'noise seed, and the seed of the real and untrained calibration sets' },
  json: { type: 'boolean', default: false, describe: 'print one JSON document instead of the table' },
  data: { type: 'string', describe: 'directory with the four IDX files (default: bundled MNIST)' },
  classifier: { type: 'string', describe: 'a classifier directory with SHA256SUMS (default: the committed models/mnist-classifier)' },
} satisfies OptionTable;

const CLASSIFIER = {
  ...BASIC,
  out: { type: 'string', describe: 'where to save it (default: the committed models/mnist-classifier)' },
  epochs: { type: 'number', default: 5, describe: 'most passes over the training images; the epoch with the best validation accuracy is kept' },
  validation: { type: 'number', default: 5000, describe: 'training images held out to choose the epoch count on' },
  'batch-size': { type: 'number', default: 64, describe: 'examples per step' },
  lr: { type: 'number', default: 1e-3, describe: 'Adam learning rate' },
  seed: { type: 'number', default: 1, describe: 'seed for the initial weights and the data order' },
  data: { type: 'string', describe: 'directory with the four IDX files (default: bundled MNIST)' },
} satisfies OptionTable;

const PLOT = {
  config: CONFIG,
  'log-format': { choices: ['auto', 'human', 'json'] as const, default: 'auto' as const, describe: 'human lines on a terminal, JSON lines otherwise (auto)' },
  verbose: { type: 'boolean', default: false, describe: 'also log debug records' },
} satisfies OptionTable;

const KEYGEN = {
  config: CONFIG,
  out: { type: 'string', demandOption: true, describe: 'keys directory' },
  name: { type: 'string', default: 'coordinator', describe: 'coordinator, or a worker\'s name: its public key also goes into DIR/authorized/' },
  'log-format': { choices: ['auto', 'human', 'json'] as const, default: 'auto' as const, describe: 'human lines on a terminal, JSON lines otherwise (auto)' },
} satisfies OptionTable;

export const COMMAND_OPTIONS = {
  coordinator: COORDINATOR,
  worker: WORKER,
  generate: GENERATE,
  evaluate: EVALUATE,
  classifier: CLASSIFIER,
  keygen: KEYGEN,
  plot: PLOT,
} as const satisfies Record<string, OptionTable>;

export type CommandName = keyof typeof COMMAND_OPTIONS;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_OPTIONS, name);
}
