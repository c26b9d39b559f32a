import path from 'node:path';
import type { BackendName } from '../shared/config.js';
import type { CoordinatorOptions } from '../coordinator/options.js';
import { ConfigError } from '../shared/errors.js';
import { readAuthorized, readKeyPair } from '../shared/security/curveKeys.js';
import { type Args, inRange, keysDir, nonNegInt, port, positiveInt } from './flagChecks.js';

function timestamp(): string {
  return new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

/** `trainer coordinator`'s flags, checked, as the coordinator's options. */
export function coordinatorOptions(a: Args): CoordinatorOptions {
  if (a.steps !== undefined && a.epochs !== undefined) throw new ConfigError('give --steps or --epochs, not both');
  const out = path.resolve(String(a.out ?? path.join('runs', timestamp())));
  const keys = keysDir(a);
  return Object.freeze({
    workers: positiveInt('workers', a.workers),
    minWorkers: a.minWorkers === undefined ? positiveInt('workers', a.workers) : positiveInt('min-workers', a.minWorkers),
    rejoinTimeoutMs: Math.round(inRange('rejoin-timeout', a.rejoinTimeout, 0, 86400, false, false) * 1000),
    steps: a.steps === undefined ? undefined : positiveInt('steps', a.steps),
    epochs: a.epochs === undefined ? undefined : positiveInt('epochs', a.epochs),
    batchSize: positiveInt('batch-size', a.batchSize),
    arch: a.arch as CoordinatorOptions['arch'],
    allreduce: allreduceMode(a),
    compression: a.compression as CoordinatorOptions['compression'],
    lr: inRange('lr', a.lr, 0, 1, true, false),
    dLr: a.dLr === undefined ? undefined : inRange('d-lr', a.dLr, 0, 1, true, false),
    beta1: inRange('beta1', a.beta1, 0, 1, false, true),
    beta2: inRange('beta2', a.beta2, 0, 1, false, true),
    emaDecay: inRange('ema-decay', a.emaDecay, 0, 1, false, true),
    lrDecay: inRange('lr-decay', a.lrDecay, 0, 1, false, false),
    labelSmoothing: inRange('label-smoothing', a.labelSmoothing, 0, 0.5, false, true),
    epsilon: 1e-8,
    seed: nonNegInt('seed', a.seed),
    // --data coordinator (the default) or local name the source; any other value is a directory (./local for one named so).
    dataDir: a.data === undefined || a.data === 'coordinator' || a.data === 'local' ? undefined : path.resolve(String(a.data)),
    dataSource: a.data === 'local' ? 'local' : 'coordinator',
    limit: a.limit === undefined ? undefined : positiveInt('limit', a.limit),
    out,
    backend: a.backend as BackendName,
    threads: a.threads === undefined ? undefined : positiveInt('threads', a.threads),
    bind: String(a.bind),
    port: port('port', a.port, true),
    checkEvery: positiveInt('check-every', a.checkEvery),
    timeoutMs: Math.round(inRange('timeout', a.timeout, 0, 86400, true, false) * 1000),
    registerTimeoutMs: Math.round(inRange('register-timeout', a.registerTimeout, 0, 86400, true, false) * 1000),
    prefetch: positiveInt('prefetch', a.prefetch),
    sampleEvery: nonNegInt('sample-every', a.sampleEvery),
    evalEvery: nonNegInt('eval-every', a.evalEvery),
    evalCount: inRange('eval-count', a.evalCount, 2, 60_000, false, false),
    keepBest: keepBest(a),
    logEvery: nonNegInt('log-every', a.logEvery),
    timeline: a.timeline === undefined ? undefined : path.resolve(String(a.timeline)),
    checkpointEvery: nonNegInt('checkpoint-every', a.checkpointEvery),
    keepCheckpoints: positiveInt('keep-checkpoints', a.keepCheckpoints),
    resume: a.resume === undefined ? undefined : path.resolve(String(a.resume)),
    maxBadSteps: nonNegInt('max-bad-steps', a.maxBadSteps),
    heartbeatMs: Math.round(inRange('heartbeat-interval', a.heartbeatInterval, 0, 3600, true, false) * 1000),
    workerTimeoutMs: Math.round(inRange('worker-timeout', a.workerTimeout, 0, 86400, true, false) * 1000),
    curve: keys === undefined ? undefined : { own: readKeyPair(keys, 'coordinator'), authorized: readAuthorized(keys) },
  });
}

/** --keep-best needs evaluations to pick the best by. */
/** 16-bit gradients travel on the ring and the star; halving-doubling carries float32 only, so auto means the ring then. */
function allreduceMode(a: Args): CoordinatorOptions['allreduce'] {
  const mode = a.allreduce as CoordinatorOptions['allreduce'];
  if (a.compression === undefined || a.compression === 'none') return mode;
  if (mode === 'rhd') throw new ConfigError(`--compression ${String(a.compression)} needs --allreduce ring, star or auto: halving-doubling carries float32 only`);
  return mode === 'auto' ? 'ring' : mode;
}

function keepBest(a: Args): boolean {
  if (a.keepBest && !(Number(a.evalEvery) > 0)) throw new ConfigError('--keep-best needs --eval-every N (the best generator is picked by MNIST-FID)');
  return Boolean(a.keepBest);
}
