#!/usr/bin/env node
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPair, readAuthorized, readKey, readKeyPair } from './shared/security/curveKeys.js';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { BackendName } from './shared/config.js';
import { COMMAND_OPTIONS, WORKER_METRICS_PORTS, isCommandName } from './cliOptions.js';
import type { PortChoice } from './shared/transport/httpServer.js';
import { type OptionLayers, configPath, layerOptions, withOrigin } from './optionLayers.js';
import { ConfigError, CoordinatorLostError, DataFormatError, errorMessage, TrainerError } from './shared/errors.js';
import { inRange, nonNegInt, port, positiveInt } from './flagChecks.js';
import { type Logger, createLogger } from './shared/logger.js';
import { type LogFormat, createSink } from './logFormat.js';
import { createTerminalSink } from './progress.js';
import type { CoordinatorOptions } from './coordinator/options.js';
import type { CoordinatorEvents } from './coordinator/coordinator.js';
import type { TrainingEval } from './coordinator/trainingEval.js';
import { VERSION } from './version.js';
import { launchPlan, startWorkers } from './workerLaunch.js';
import type { LaunchedProcesses } from './coordinator/processes.js';

const EXIT_USAGE = 2;
/** A worker whose coordinator went silent: distinct, so a supervisor knows to restart it. */
const EXIT_COORDINATOR_LOST = 3;

/** An address of this host that other hosts can reach: the first non-internal IPv4, else loopback. */
function defaultAdvertiseHost(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function makeLogger(format: string, component: string, verbose: boolean): { logger: Logger; format: LogFormat } {
  const resolved: LogFormat = format === 'auto' ? (process.stderr.isTTY ? 'human' : 'json') : (format as LogFormat);
  const level = verbose ? 'debug' : 'info';
  // A live bar only where a person watches the coordinator; elsewhere one line per record.
  const sink = resolved === 'human' && process.stderr.isTTY && component === 'coordinator'
    ? createTerminalSink(component, process.stderr, level)
    : createSink(resolved, component, (line) => process.stderr.write(`${line}\n`), level);
  return { logger: createLogger(sink), format: resolved };
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

type Args = Record<string, unknown>;

/** --curve-keys, as an absolute path. */
const keysDir = (a: Args): string | undefined => (a.curveKeys === undefined ? undefined : path.resolve(String(a.curveKeys)));

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
    allreduce: a.allreduce as CoordinatorOptions['allreduce'],
    lr: inRange('lr', a.lr, 0, 1, true, false),
    beta1: inRange('beta1', a.beta1, 0, 1, false, true),
    beta2: inRange('beta2', a.beta2, 0, 1, false, true),
    epsilon: 1e-8,
    seed: nonNegInt('seed', a.seed),
    dataDir: a.data === undefined ? undefined : path.resolve(String(a.data)),
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
function keepBest(a: Args): boolean {
  if (a.keepBest && !(Number(a.evalEvery) > 0)) throw new ConfigError('--keep-best needs --eval-every N (the best generator is picked by MNIST-FID)');
  return Boolean(a.keepBest);
}

/** --metrics-port, unless --no-metrics; `fallback`: the ports to try when none was given. */
function metricsEndpoint(a: Args, host: string, fallback?: { first: number; count: number }): PortChoice | undefined {
  if (a.metrics === false) return undefined;
  if (a.metricsPort === undefined && fallback) return { host, port: fallback.first, lastPort: fallback.first + fallback.count - 1 };
  return { host, port: port('metrics-port', a.metricsPort, true) };
}

/** Fails before training if --out cannot be written, rather than after. */
function ensureWritableDir(dir: string): void {
  try {
    // One level at a time: Node 20's recursive mkdir never returns on some paths (under /proc, for one).
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) mkdirSync(d);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError(`--out ${dir} is not a writable directory (${errorMessage(err)})`);
  }
}

async function coordinatorCommand(a: Args): Promise<number> {
  const { logger, format } = makeLogger(String(a.logFormat), 'coordinator', Boolean(a.verbose));
  const opts = coordinatorOptions(a);
  const plan = launchPlan(a, opts.workers, defaultAdvertiseHost);
  ensureWritableDir(opts.out);
  const { runCoordinator } = await import('./coordinator/coordinator.js');
  let launched: Promise<LaunchedProcesses> | undefined;
  let reportExit: ((slot: number, reason: string) => void) | undefined;
  const abort = new AbortController();
  const onSignal = (sig: string): void => abort.abort(new Error(`received ${sig}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const metrics = metricsEndpoint(a, opts.bind);
  if (opts.timeline) ensureWritableDir(path.dirname(opts.timeline));
  const { selectBackend } = await import('./shared/gan/backend.js');
  const { tf } = await import('./shared/gan/tf.js');
  const { saveGenerator, writeOutputs } = await import('./coordinator/outputs.js');
  const { TrainingEval } = await import('./coordinator/trainingEval.js');
  const { FEATURE_SIZE } = await import('./shared/eval/classifier.js');
  const { startCoordinatorObservability } = await import('./coordinator/observability.js');
  // The coordinator only renders samples and saves models: any backend will do, so never fail on the choice.
  await selectBackend(opts.backend === 'auto' || opts.backend === 'webgpu' || opts.backend === 'native' ? 'auto' : opts.backend, logger.child({ purpose: 'samples' }));
  const obs = await startCoordinatorObservability({ tf, out: opts.out, version: VERSION, metrics, timeline: opts.timeline, stallMs: opts.timeoutMs, logger });
  // Evaluations run in a thread of the coordinator: wasm there (WebGPU is the workers' business), or what was asked for on CPU.
  let evaluator: TrainingEval | undefined;
  let trainingSince = 0;
  const events: CoordinatorEvents = opts.evalEvery === 0 ? obs.events : {
    ...obs.events,
    configured: (c) => {
      obs.events.configured?.(c);
      evaluator = new TrainingEval({ arch: c.arch, latentDim: c.latentDim, count: opts.evalCount, seed: opts.seed, backend: opts.backend === 'tensorflow' || opts.backend === 'cpu' ? opts.backend : 'wasm', every: opts.evalEvery, featureSize: FEATURE_SIZE, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) },
        logger.child({ purpose: 'evaluation' }), (r) => obs.metrics.observeEvaluation(r.fid, evaluator?.best?.fid ?? r.fid));
    },
    started: (info) => {
      trainingSince = performance.now();
      obs.events.started?.(info);
    },
    evalWeights: (step, w) => evaluator?.submit(step, w.generator, (performance.now() - trainingSince) / 1000),
  };
  try {
    const result = await runCoordinator(opts, logger, {
      signal: abort.signal,
      events,
      onListening: (endpoint) => {
        if (!plan) return;
        launched = startWorkers(plan, {
          opts, endpoint, logFormat: format, verbose: Boolean(a.verbose), metricsPort: metrics?.port, keysDir: keysDir(a), logger,
          onFailure: ({ slot, message, restarting }) => {
            obs.metrics.workerFailures.inc();
            // The run loses it now, not after --worker-timeout of silence.
            reportExit?.(slot, message);
            // A restarted worker rejoins (the run waits up to --rejoin-timeout for it); an elastic run goes on
            // without it; a fixed world with no restarts left cannot go on.
            if (restarting) logger.log('warn', `${message}; starting it again`, { slot });
            else if (opts.minWorkers < opts.workers) logger.log('warn', `${message}; training continues with the others`, { slot });
            else abort.abort(new Error(message));
          },
        });
      },
      launchedExits: { subscribe: (listener) => { reportExit = listener; } },
    });
    if (evaluator) {
      evaluator.submit(result.config.steps, result.weights.generator, result.summary.trainSeconds);
      result.summary.evaluation = await evaluator.finish();
      const best = evaluator.best;
      if (opts.keepBest && best) {
        await saveGenerator(tf, path.join(opts.out, 'generator-best'), result.config, best.generator);
        logger.log('info', `best generator (MNIST-FID ${best.fid.toFixed(3)} at step ${best.step}) saved to ${path.join(opts.out, 'generator-best')}`, { step: best.step, fid: best.fid });
      }
    }
    await writeOutputs(tf, opts.out, result.config, result.weights, result.summary, obs.samples()!);
    obs.health.set(true, 'finished');
    const s = result.summary;
    logger.log('info', `done: ${s.steps} steps in ${s.trainSeconds.toFixed(1)} s, ${s.imagesPerSecond.toFixed(0)} img/s, d_loss ${s.final.dLoss.toFixed(4)}, g_loss ${s.final.gLoss.toFixed(4)}, replicas identical (${s.replicaHash.slice(0, 12)}…); outputs in ${opts.out}`, { out: opts.out, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
    if (launched) {
      const workers = await launched;
      workers.retire();
      const codes = await withTimeout(workers.exited, 15_000, 'launched workers did not exit');
      const bad = codes.flatMap((c, i) => (c === 0 ? [] : [`worker ${i} exited with ${c}`]));
      // An elastic run that finished has already recorded its lost workers (summary.json); only a fixed world fails on them.
      if (bad.length > 0 && opts.minWorkers === opts.workers) throw new TrainerError('E_WORKER', bad.join('; '));
    }
    return 0;
  } catch (err) {
    obs.health.set(false, `failed: ${errorMessage(err)}`);
    throw err;
  } finally {
    if (launched) {
      // Workers exit on their own after a shutdown; this only catches stragglers, and gives
      // ssh sessions a moment to close (which ends their remote workers) before this process exits.
      const workers = await launched;
      await withTimeout(workers.exited, 5_000, '').catch(async () => {
        workers.kill();
        await withTimeout(workers.exited, 3_000, '').catch(() => {});
      });
    }
    await evaluator?.close();
    await obs.close();
  }
}

async function workerCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'worker', Boolean(a.verbose));
  const endpoint = String(a.coordinator);
  if (!/^tcp:\/\/[^\s/:]+(:\d+)$/.test(endpoint) && !/^tcp:\/\/\[[0-9a-fA-F:]+\]:\d+$/.test(endpoint)) {
    throw new ConfigError(`--coordinator must look like tcp://HOST:PORT, got ${JSON.stringify(endpoint)}`);
  }
  port('coordinator port', Number(endpoint.slice(endpoint.lastIndexOf(':') + 1)), false);
  const keys = keysDir(a);
  if (a.stopOnStdinClose) {
    // Launched over ssh: the session's end (the coordinator stopped it, or died) closes our stdin.
    process.stdin.on('end', () => {
      logger.log('warn', 'standard input closed (--stop-on-stdin-close): the launcher is gone, exiting');
      process.exit(1);
    }).resume();
  }
  const { runWorker } = await import('./worker/worker.js');
  await runWorker({
    coordinator: endpoint,
    advertise: String(a.advertise ?? defaultAdvertiseHost()),
    bindHost: String(a.bindHost),
    dataPort: port('data-port', a.dataPort, true),
    backend: a.backend as BackendName,
    ...(a.gpu !== undefined ? { gpu: nonNegInt('gpu', a.gpu) } : {}),
    ...(a.threads !== undefined ? { threads: positiveInt('threads', a.threads) } : {}),
    ...(a.rank !== undefined ? { rank: nonNegInt('rank', a.rank) } : {}),
    connectTimeoutMs: Math.round(inRange('connect-timeout', a.connectTimeout, 0, 86400, true, false) * 1000),
    ...(a.protocolVersion !== undefined ? { protocolVersionOverride: nonNegInt('protocol-version', a.protocolVersion) } : {}),
    faults: {
      ...(a.faultNanStep !== undefined ? { nanStep: positiveInt('fault-nan-step', a.faultNanStep) } : {}),
      ...(a.faultKillStep !== undefined ? { killStep: positiveInt('fault-kill-step', a.faultKillStep) } : {}),
      ...(a.faultHangStep !== undefined ? { hangStep: positiveInt('fault-hang-step', a.faultHangStep) } : {}),
    },
    ...(keys !== undefined ? { curve: { own: readKeyPair(keys, String(a.curveName)), serverPublicKey: readKey(path.join(keys, 'coordinator.pub')) } } : {}),
    metrics: metricsEndpoint(a, String(a.bindHost), WORKER_METRICS_PORTS),
  }, logger);
  return 0;
}

function keygenCommand(a: Args): number {
  const { logger } = makeLogger(String(a.logFormat), 'keygen', false);
  const dir = path.resolve(String(a.out));
  const { publicFile, secretFile } = generateKeyPair(dir, String(a.name));
  logger.log('info', `wrote ${publicFile} and ${secretFile} (keep it secret)${String(a.name) === 'coordinator' ? '' : `; admitted via ${path.join(dir, 'authorized')}`}`, { publicFile, secretFile });
  return 0;
}

async function generateCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'generate', Boolean(a.verbose));
  const count = positiveInt('count', a.count);
  if (count > 4096) throw new ConfigError(`--count must be at most 4096, got ${count}`);
  const out = path.resolve(String(a.out));
  ensureWritableDir(path.dirname(out));
  const { selectBackend } = await import('./shared/gan/backend.js');
  const { tf } = await import('./shared/gan/tf.js');
  const { generateGrid } = await import('./generate/generate.js');
  const { writeAtomic } = await import('./shared/atomicFile.js');
  await selectBackend(a.backend as BackendName, logger);
  const { png, columns } = await generateGrid(tf, { modelDir: path.resolve(String(a.model)), count, seed: nonNegInt('seed', a.seed) });
  writeAtomic(out, png);
  logger.log('info', `wrote ${count} images (${columns} per row) to ${out}`, { out, count });
  return 0;
}

async function evaluateCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'evaluate', Boolean(a.verbose));
  const count = positiveInt('count', a.count);
  if (count < 2 || count > 60_000) throw new ConfigError(`--count must be in [2, 60000], got ${count}`);
  const { selectBackend } = await import('./shared/gan/backend.js');
  const { tf } = await import('./shared/gan/tf.js');
  const { evaluateGenerator, formatEvaluation } = await import('./evaluate/evaluate.js');
  await selectBackend(a.backend as BackendName, logger);
  const e = await evaluateGenerator(tf, {
    modelDir: path.resolve(String(a.model)), count, seed: nonNegInt('seed', a.seed),
    ...(a.data === undefined ? {} : { dataDir: path.resolve(String(a.data)) }),
    ...(a.classifier === undefined ? {} : { classifierDir: path.resolve(String(a.classifier)) }),
  });
  // The result is the command's output: stdout, as a table or (--json) one JSON document.
  process.stdout.write(a.json ? `${JSON.stringify(e)}\n` : `${formatEvaluation(e)}\n`);
  return 0;
}

async function classifierCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'classifier', Boolean(a.verbose));
  const { CLASSIFIER_DIR } = await import('./shared/eval/classifier.js');
  const out = path.resolve(String(a.out ?? CLASSIFIER_DIR));
  ensureWritableDir(out);
  const opts = {
    out, epochs: positiveInt('epochs', a.epochs), batchSize: positiveInt('batch-size', a.batchSize), lr: inRange('lr', a.lr, 0, 1, true, false),
    seed: nonNegInt('seed', a.seed), dataDir: a.data === undefined ? undefined : path.resolve(String(a.data)),
  };
  const { selectBackend } = await import('./shared/gan/backend.js');
  const { tf } = await import('./shared/gan/tf.js');
  const { trainClassifier } = await import('./classifier/train.js');
  await selectBackend(a.backend as BackendName, logger);
  const r = await trainClassifier(tf, opts, logger);
  logger.log('info', `classifier saved to ${out}: test accuracy ${(r.accuracy * 100).toFixed(2)}%, ${r.seconds.toFixed(0)} s, weights.bin SHA-256 ${r.sha256}`, { out, ...r });
  return 0;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new TrainerError('E_TIMEOUT', message)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}

/** `layered`: option values from TRAINER_* and --config, below the flags and above the defaults. */
function parser(argv: string[], layered: Record<string, unknown>): Argv {
  return yargs(argv)
    .config(layered)
    // A flag given twice takes its last value (a wrapper script can append overrides), as most CLIs do.
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .scriptName('trainer')
    .usage('$0 <command> [options]\n\nDistributed data-parallel GAN training on MNIST: one coordinator, N workers, gradients averaged by all-reduce over ZeroMQ.')
    .command('coordinator', 'own the data set, admit N workers and drive training', (y) => y.options(COMMAND_OPTIONS.coordinator)
      .example('$0 coordinator --workers 2 --spawn --steps 500', 'train with two local worker processes')
      .example('$0 coordinator --workers 4 --port 5555', 'wait for four workers started on other hosts'))
    .command('worker', 'join a coordinator and train one replica', (y) => y.options(COMMAND_OPTIONS.worker)
      .example('$0 worker --coordinator tcp://10.0.0.1:5555', 'join a run'))
    .command('generate', 'draw digits from a saved generator into a PNG grid', (y) => y.options(COMMAND_OPTIONS.generate)
      .example('$0 generate --model runs/X/generator --out digits.png', '64 digits from a trained generator'))
    .command('evaluate', 'score a saved generator: MNIST-FID, Inception Score and digit coverage, with real-data and untrained calibration', (y) => y.options(COMMAND_OPTIONS.evaluate)
      .example('$0 evaluate --model runs/X/generator', 'score a run\'s generator'))
    .command('classifier <action>', 'the reference MNIST classifier that scores generated digits', (y) => y.options(COMMAND_OPTIONS.classifier)
      .positional('action', { choices: ['train'] as const, describe: 'train: train it on MNIST and save it with its SHA-256' })
      .example('$0 classifier train --backend wasm', 'retrain the committed classifier'))
    .command('keygen', 'make a CURVE key pair (NAME.key, NAME.pub) in a keys directory', (y) => y.options(COMMAND_OPTIONS.keygen)
      .example('$0 keygen --out keys && $0 keygen --out keys --name worker', 'keys for a coordinator and its workers'))
    .demandCommand(1, 'name a command: coordinator, worker, generate, evaluate, classifier or keygen')
    .strict()
    .help()
    .wrap(Math.min(120, process.stdout.columns ?? 120));
}

/** TRAINER_* and --config values for the command about to run (none for --help or an unknown command). */
function optionLayers(argv: readonly string[]): OptionLayers {
  const command = argv[0];
  if (command === undefined || !isCommandName(command)) return { values: {}, origins: new Map() };
  const file = configPath(argv, process.env);
  let data: unknown;
  if (file !== undefined) {
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`--config ${file}: ${err instanceof SyntaxError ? 'not valid JSON: ' : ''}${errorMessage(err)}`);
    }
  }
  return layerOptions({ tables: COMMAND_OPTIONS, command, env: process.env, ...(file === undefined ? {} : { file: { path: file, data } }) });
}

async function main(): Promise<void> {
  let code = 1;
  const args = hideBin(process.argv);
  let origins: ReadonlyMap<string, string> = new Map();
  try {
    const layers = optionLayers(args);
    origins = layers.origins;
    const argv = await parser(args, layers.values)
      .fail((msg, err) => { throw err ?? new ConfigError(msg); })
      .parseAsync();
    const cmd = String(argv._[0]);
    code = cmd === 'coordinator' ? await coordinatorCommand(argv as Args)
      : cmd === 'generate' ? await generateCommand(argv as Args)
        : cmd === 'keygen' ? keygenCommand(argv as Args)
          : cmd === 'classifier' ? await classifierCommand(argv as Args)
            : cmd === 'evaluate' ? await evaluateCommand(argv as Args)
          : await workerCommand(argv as Args);
  } catch (err) {
    // One line, whatever the source (yargs puts its details on further lines), naming the env var or file a bad value came from.
    const line = errorMessage(err).replace(/\s*\n\s*/g, ' ').trim();
    process.stderr.write(`trainer: ${withOrigin(line, origins, args)}\n`);
    code = err instanceof ConfigError || err instanceof DataFormatError ? EXIT_USAGE : err instanceof CoordinatorLostError ? EXIT_COORDINATOR_LOST : 1;
  }
  // ZeroMQ and tfjs may hold handles open after a run; the run's outcome is settled, so leave now.
  process.exit(code);
}

await main();
