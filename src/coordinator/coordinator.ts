import { type TrainConfig, modelHash } from '../shared/config.js';
import { ConfigError, ReplicaMismatchError, TimeoutError, TrainerError, errorMessage } from '../shared/errors.js';
import { bundledMnistDir, loadTrainingSet } from '../shared/data/dataset.js';
import { stepsPerEpoch as countStepsPerEpoch } from '../shared/data/sharding.js';
import { StarReducer } from '../shared/allreduce/star.js';
import { initialWeights } from '../shared/gan/architecture.js';
import { archSpecs } from '../shared/gan/archs.js';
import { GanReplica } from '../shared/gan/replica.js';
import type { Logger } from '../shared/logger.js';
import { PROTOCOL_VERSION, type Span, type WorkerMessage } from '../shared/protocol.js';
import { CONTROL_ZAP_DOMAIN, ControlServer } from './controlServer.js';
import { startZapHandler } from '../shared/transport/zapHandler.js';
import { DataFeeder } from './dataFeeder.js';
import { Membership } from './membership.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Liveness } from './liveness.js';
import type { Checkpoint } from './checkpointFormat.js';
import { CheckpointStore, loadLatestCheckpoint } from './checkpointStore.js';
import type { CoordinatorOptions } from './options.js';
import { type CompletedStep, StepTracker } from './stepTracker.js';
import type { Summary } from './summary.js';

/** What the run reports as it goes, for metrics, samples and the timeline; all optional. */
export interface CoordinatorEvents {
  configured?(config: TrainConfig): void;
  listening?(droppedFrames: () => number): void;
  workersConnected?(count: number): void;
  started?(info: { backend: string }): void;
  stepCompleted?(done: CompletedStep, info: { epoch: number; images: number; stepSeconds: number }): void;
  spans?(rank: number, step: number, spans: Span[]): void;
  /** Rank 0's weights at a sample step (not the final ones, which the result carries). */
  sampleWeights?(step: number, weights: { generator: Float32Array; discriminator: Float32Array }): void;
  checkpointWritten?(step: number, bytes: number): void;
  /** Every replica skipped an update of this step for non-finite gradients. */
  badStep?(step: number): void;
  workerFailed?(rank: number): void;
  replicaMismatch?(): void;
}

export interface CoordinatorHooks {
  events?: CoordinatorEvents;
  /** Called once the control socket is bound, with an endpoint local workers can use (for --spawn). */
  onListening?(endpoint: string): void;
  /** Aborting fails the run at once (a spawned worker died, a signal arrived). */
  signal?: AbortSignal;
}

export interface CoordinatorResult {
  summary: Summary;
  config: TrainConfig;
  weights: { generator: Float32Array; discriminator: Float32Array };
}

/** Turns the options into the config every replica shares; fails on combinations that cannot run. */
export function buildTrainConfig(opts: CoordinatorOptions, examples: number): TrainConfig {
  const globalBatch = opts.workers * opts.batchSize;
  const perEpoch = countStepsPerEpoch(examples, globalBatch);
  if (perEpoch < 1) {
    throw new ConfigError(`${examples} training examples do not fill one global batch of ${globalBatch} (${opts.workers} workers × batch ${opts.batchSize}); raise --limit or lower --batch-size`);
  }
  const steps = opts.steps ?? (opts.epochs ?? 1) * perEpoch;
  return {
    arch: opts.arch, latentDim: 100, batchSize: opts.batchSize, world: opts.workers, steps, stepsPerEpoch: perEpoch,
    lr: opts.lr, beta1: opts.beta1, beta2: opts.beta2, epsilon: opts.epsilon, seed: opts.seed, allreduce: opts.allreduce,
    checkEvery: opts.checkEvery, timeoutMs: opts.timeoutMs, sampleEvery: opts.sampleEvery, timeline: opts.timeline !== undefined,
    checkpointEvery: opts.checkpointEvery, heartbeatMs: opts.heartbeatMs, workerTimeoutMs: opts.workerTimeoutMs,
  };
}

/**
 * Fields a resumed run must share with the checkpoint's, or it would not continue the same
 * trajectory. The number of workers may change if the global batch does not: data and noise
 * are keyed by global position, so M workers × B·N/M examples follow N × B (up to rounding,
 * and up to per-worker batch-norm statistics in the DCGAN's generator).
 */
const RESUME_FIELDS = ['arch', 'latentDim', 'lr', 'beta1', 'beta2', 'epsilon', 'seed', 'stepsPerEpoch'] as const;

function checkResumable(c: Checkpoint, config: TrainConfig): void {
  const differ = RESUME_FIELDS.filter((f) => c.config[f] !== config[f]).map((f) => `${f} ${c.config[f]} (checkpoint) vs ${config[f]}`);
  const globalBatch = (x: TrainConfig): number => x.world * x.batchSize;
  if (globalBatch(c.config) !== globalBatch(config)) {
    const perWorker = globalBatch(c.config) / config.world;
    differ.push(`global batch ${c.config.world} × ${c.config.batchSize} (checkpoint) vs ${config.world} × ${config.batchSize}; `
      + (Number.isInteger(perWorker) ? `with ${config.world} worker${config.world === 1 ? '' : 's'} use --batch-size ${perWorker}` : `${globalBatch(c.config)} examples do not split evenly among ${config.world} workers`));
  }
  if (differ.length > 0) throw new ConfigError(`--resume: this run does not continue the checkpointed one: ${differ.join(', ')}; use the same flags (and data) as that run`);
  if (config.steps <= c.step) throw new ConfigError(`--resume: the checkpoint is at step ${c.step}; ask for more steps than that (--steps ${config.steps})`);
}

/**
 * Owns the data set and the run: admits N workers, broadcasts the initial
 * weights and the ring, ships every rank its slice of each global batch ahead of
 * time, averages gradients in star mode, checks replica hashes, and returns the
 * final weights and summary. Aborts every worker on the first error.
 */
export async function runCoordinator(opts: CoordinatorOptions, logger: Logger, hooks: CoordinatorHooks = {}): Promise<CoordinatorResult> {
  const startedAt = performance.now();
  const dataDir = opts.dataDir ?? bundledMnistDir();
  const data = loadTrainingSet(dataDir, opts.limit);
  const resumed = opts.resume === undefined ? undefined : loadLatestCheckpoint(opts.resume, logger);
  // Resuming without --steps or --epochs continues to the step count the checkpointed run aimed for.
  const config = buildTrainConfig(resumed && opts.steps === undefined && opts.epochs === undefined ? { ...opts, steps: resumed.checkpoint.config.steps } : opts, data.count);
  if (resumed) checkResumable(resumed.checkpoint, config);
  const events = hooks.events ?? {};
  events.configured?.(config);
  const expectedHash = modelHash(config, GanReplica.expectedParamShapes(config));
  const specs = archSpecs(config.arch, config.latentDim);
  const init = resumed
    ? { ...resumed.checkpoint.weights, optimizer: resumed.checkpoint.optimizer }
    : { generator: initialWeights(specs.generator, config.seed), discriminator: initialWeights(specs.discriminator, config.seed), optimizer: undefined };
  const firstStep = (resumed?.checkpoint.step ?? 0) + 1;
  if (resumed) logger.log('info', `resuming from ${resumed.file}: step ${firstStep - 1} done, continuing to step ${config.steps}`, { file: resumed.file, step: firstStep - 1 });
  const store = new CheckpointStore(path.join(opts.out, 'checkpoints'), opts.keepCheckpoints);
  const globalBatch = config.world * config.batchSize;
  logger.log('info', `training ${config.arch} GAN: ${config.steps} steps, ${config.world} workers × batch ${config.batchSize}, ${data.count} examples from ${dataDir}`, {
    steps: config.steps, workers: config.world, batchSize: config.batchSize, examples: data.count, allreduce: config.allreduce,
  });

  const refusedKeys = new Set<string>();
  const zap = opts.curve ? await startZapHandler((key, domain) => domain === CONTROL_ZAP_DOMAIN && opts.curve!.authorized.has(key), logger, (key, domain) => {
    refusedKeys.add(key);
    if (refusedKeys.size <= 10) logger.log('warn', `refused a CURVE client on ${domain}: ${key ? `key ${key} is not in the allow-list` : 'no CURVE key'}`, { key, domain });
  }) : undefined;
  if (!opts.curve && !/^(127\.|localhost$|::1$)/.test(opts.bind)) {
    logger.log('warn', `binding ${opts.bind} without --curve-keys: control and ring traffic is unauthenticated and unencrypted; use a private network or CURVE`);
  }
  const server = new ControlServer(logger, opts.curve?.own);
  const bound = await server.bind(`tcp://${opts.bind}:${opts.port}`);
  const port = bound.slice(bound.lastIndexOf(':') + 1);
  logger.log('info', `listening on ${bound}`, { endpoint: bound });
  hooks.onListening?.(`tcp://127.0.0.1:${port}`);
  events.listening?.(() => server.dropped);

  const membership = new Membership(config.world, { requireRingKey: opts.curve !== undefined });
  const tracker = new StepTracker(config.world);
  const star = new StarReducer(config.world);
  const feeder = new DataFeeder(data, config);

  let fail!: (err: Error) => void;
  let registered!: () => void;
  let finished!: () => void;
  const failure = new Promise<never>((_, reject) => { fail = reject; });
  failure.catch(() => undefined);
  const registration = new Promise<void>((resolve) => { registered = resolve; });
  const completion = new Promise<void>((resolve) => { finished = resolve; });

  let lastCompleted = firstStep - 1;
  let lastStep: CompletedStep | undefined;
  let finalWeights: { generator: Float32Array; discriminator: Float32Array } | undefined;
  let trainStart = 0;
  let nextShipped = firstStep;
  let lastLogAt = 0;
  let lastLogStep = 0;

  const sendOrFail = (peer: string, msg: Parameters<ControlServer['send']>[1]): void => {
    server.send(peer, msg).catch((err: unknown) => fail(new TrainerError('E_TRANSPORT', `send to ${peer} failed: ${errorMessage(err)}`)));
  };
  const broadcast = (msg: Parameters<ControlServer['send']>[1]): void => {
    for (const m of membership.members()) sendOrFail(m.peer, msg);
  };
  const shipThrough = (step: number): void => {
    for (; nextShipped <= Math.min(step, stopAfter ?? config.steps); nextShipped++) {
      for (const m of membership.members()) sendOrFail(m.peer, { t: 'batch', v: PROTOCOL_VERSION, ...feeder.batchFor(nextShipped, m.rank) });
    }
  };
  /** Set when stopping on a signal: the last step shipped, after which rank 0's state becomes the final checkpoint. */
  let stopAfter: number | undefined;
  const onAbort = (): void => {
    const why = errorMessage(hooks.signal?.reason ?? 'aborted');
    // Before training there is nothing to save: stop now.
    if (trainStart === 0) {
      fail(new TrainerError('E_ABORTED', why));
      return;
    }
    // Every step is already shipped: finishing them is the quickest way to a final checkpoint, and gives the outputs too.
    if (nextShipped - 1 >= config.steps) {
      logger.log('warn', `${why}: the last steps are already under way; finishing the run`);
      return;
    }
    stopAfter = Math.max(nextShipped - 1, lastCompleted);
    logger.log('warn', `${why}: finishing step ${stopAfter} for a final checkpoint (again to stop at once)`, { step: stopAfter });
    const rank0 = membership.members().find((m) => m.rank === 0);
    if (rank0) sendOrFail(rank0.peer, { t: 'checkpoint', v: PROTOCOL_VERSION, step: stopAfter });
  };
  if (hooks.signal?.aborted) onAbort();
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  const maybeFinished = (): void => {
    if (lastCompleted === config.steps && finalWeights) finished();
  };

  // Heartbeats come from each worker's heartbeat thread, on a connection of its own, named by a session secret.
  const sessions: string[] = [];
  const heartbeatPeers: Array<string | undefined> = [];
  let liveness: Liveness | undefined;

  let lastCompletedAt = 0;
  let badSteps = 0;
  const onStepCompleted = (done: CompletedStep): void => {
    lastCompleted = done.step;
    if (done.skipped.length > 0) {
      badSteps++;
      events.badStep?.(done.step);
      logger.log('warn', `step ${done.step}: averaged ${done.skipped.map((p) => (p === 'd' ? 'discriminator' : 'generator')).join(' and ')} gradients not finite; update skipped on every replica (${badSteps} of at most ${opts.maxBadSteps})`, { step: done.step, skipped: done.skipped, badSteps });
      if (badSteps > opts.maxBadSteps) {
        fail(new TrainerError('E_BAD_STEPS', `${badSteps} step${badSteps === 1 ? '' : 's'} with non-finite gradients (the last at step ${done.step}), more than --max-bad-steps ${opts.maxBadSteps}: the run diverged; lower --lr or resume from a checkpoint`));
        return;
      }
    }
    lastStep = done;
    shipThrough(done.step + opts.prefetch);
    const now = performance.now();
    const epoch = Math.floor((done.step - 1) / config.stepsPerEpoch) + 1;
    events.stepCompleted?.(done, { epoch, images: globalBatch, stepSeconds: (now - (lastCompletedAt || trainStart)) / 1000 });
    lastCompletedAt = now;
    const due = opts.logEvery > 0 ? done.step % opts.logEvery === 0 : now - lastLogAt >= 1000;
    if (done.step === config.steps || done.step === 1 || due) {
      const rate = lastLogAt === 0 ? (globalBatch * done.step * 1000) / (now - trainStart) : (globalBatch * (done.step - lastLogStep) * 1000) / (now - lastLogAt);
      logger.log('info', 'step', {
        step: done.step, steps: config.steps, epoch,
        dLoss: done.dLoss, gLoss: done.gLoss, dReal: done.dReal, dFake: done.dFake, imagesPerSecond: rate,
        computeMs: done.maxComputeMs, reduceMs: done.maxReduceMs, slowestRank: done.slowestRank,
      });
      lastLogAt = now;
      lastLogStep = done.step;
    }
    maybeFinished();
  };

  const handle = (peer: string, msg: WorkerMessage): void => {
    if (msg.t === 'hello') {
      const outcome = membership.hello(peer, msg);
      if (outcome.kind === 'rejected') {
        logger.log('warn', `refused worker ${msg.host}/${msg.pid}: ${outcome.reason}`);
        sendOrFail(peer, { t: 'reject', v: PROTOCOL_VERSION, reason: outcome.reason });
        return;
      }
      logger.log('info', `worker ${msg.host}/${msg.pid} registered as rank ${outcome.rank} (backend ${msg.backend})`, { rank: outcome.rank, dataEndpoint: msg.dataEndpoint });
      events.workersConnected?.(membership.registered);
      sessions[outcome.rank] = randomBytes(16).toString('hex');
      sendOrFail(peer, { t: 'welcome', v: PROTOCOL_VERSION, rank: outcome.rank, session: sessions[outcome.rank]!, config });
      return;
    }
    if (msg.t === 'heartbeat') {
      if (sessions[msg.rank] === undefined || sessions[msg.rank] !== msg.session) {
        server.drop(peer, `heartbeat for rank ${msg.rank} with a wrong session`);
        return;
      }
      heartbeatPeers[msg.rank] = peer;
      liveness?.seen(msg.rank, performance.now());
      return;
    }
    const rank = membership.rankOf(peer);
    if (rank === undefined) {
      server.drop(peer, `'${msg.t}' from a peer that is not a registered worker`);
      return;
    }
    liveness?.seen(rank, performance.now());
    switch (msg.t) {
      case 'ready': {
        const r = membership.ready(peer, msg.modelHash, expectedHash);
        if (!r.ok) {
          sendOrFail(peer, { t: 'reject', v: PROTOCOL_VERSION, reason: r.reason });
          fail(new TrainerError('E_HANDSHAKE', `rank ${rank} refused: ${r.reason}`));
          return;
        }
        if (membership.complete) registered();
        return;
      }
      case 'stepDone': {
        if (msg.step !== lastCompleted + 1 && msg.step !== lastCompleted + 2) {
          // A rank can be at most one step ahead of the last completed step (the next all-reduce holds it back).
          fail(new TrainerError('E_PROTOCOL', `rank ${rank} reported step ${msg.step} while step ${lastCompleted + 1} is in progress`));
          return;
        }
        if (msg.spans) events.spans?.(rank, msg.step, msg.spans);
        let done: CompletedStep | undefined;
        try {
          done = tracker.report(rank, msg);
        } catch (err) {
          if (err instanceof ReplicaMismatchError) events.replicaMismatch?.();
          throw err;
        }
        if (done) onStepCompleted(done);
        return;
      }
      case 'grad': {
        const avg = star.add(msg.step, msg.phase, rank, msg.data);
        if (avg) broadcast({ t: 'reduced', v: PROTOCOL_VERSION, step: msg.step, phase: msg.phase, data: avg });
        return;
      }
      case 'weights': {
        if (rank !== 0) return;
        const weights = { generator: msg.generator, discriminator: msg.discriminator };
        if (msg.generatorOptimizer && msg.discriminatorOptimizer) {
          const t0 = performance.now();
          const { file, bytes } = store.write({ step: msg.step, config, weights, optimizer: { generator: msg.generatorOptimizer, discriminator: msg.discriminatorOptimizer } });
          logger.log('info', `checkpoint at step ${msg.step}: ${file}`, { step: msg.step, file, bytes, ms: performance.now() - t0 });
          events.checkpointWritten?.(msg.step, bytes);
          if (msg.step === stopAfter) {
            fail(new TrainerError('E_ABORTED', `${errorMessage(hooks.signal?.reason ?? 'stopped')}: stopped after step ${msg.step}; resume with --resume ${opts.out}`));
            return;
          }
        }
        if (msg.step < config.steps) {
          if (config.sampleEvery > 0 && msg.step % config.sampleEvery === 0) events.sampleWeights?.(msg.step, weights);
          return;
        }
        finalWeights = weights;
        maybeFinished();
        return;
      }
      case 'failure':
        events.workerFailed?.(rank);
        fail(new TrainerError(msg.code, `rank ${rank} failed: ${msg.message}`));
        return;
    }
  };

  server.listen({
    onMessage: (peer, msg) => {
      try {
        handle(peer, msg);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    },
    onVersionMismatch: (peer, err) => logger.log('warn', `refused peer ${peer}: ${err.message}`),
  });

  /** Among ranks that did not report, the one heard from least recently: usually the one the others wait for. */
  const quietest = (ranks: number[]): string => {
    if (!liveness || ranks.length < 2) return '';
    const ages = liveness.ages(ranks, performance.now());
    const i = ages.indexOf(Math.max(...ages));
    return ` (rank ${ranks[i]} last heard from ${(ages[i]! / 1000).toFixed(1)} s ago)`;
  };

  // Heartbeats out to every worker's heartbeat thread; once training runs, a silent worker ends the run by name.
  const heartbeat = setInterval(() => {
    for (const p of heartbeatPeers) if (p) void server.send(p, { t: 'heartbeat', v: PROTOCOL_VERSION }).catch(() => undefined);
    const lost = liveness?.silent(performance.now())[0];
    if (lost) {
      const m = membership.members()[lost.rank];
      fail(new TrainerError('E_WORKER_LOST', `rank ${lost.rank}${m ? ` (${m.hello.host}/${m.hello.pid})` : ''} silent for ${(lost.ms / 1000).toFixed(1)} s, more than --worker-timeout ${config.workerTimeoutMs / 1000} s: lost`));
    }
  }, config.heartbeatMs);

  // One watchdog for the whole run: every phase must make progress within its deadline.
  let watchdog: NodeJS.Timeout | undefined;
  const arm = (ms: number, describe: () => string): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => fail(new TimeoutError(describe())), ms);
  };

  try {
    arm(opts.registerTimeoutMs, () => `only ${membership.registered} of ${config.world} workers registered and ready within ${opts.registerTimeoutMs} ms (waiting for rank${membership.notReady().length > 1 ? 's' : ''} ${membership.notReady().join(', ')})`);
    await Promise.race([registration, failure]);

    trainStart = performance.now();
    liveness = new Liveness(config.world, config.workerTimeoutMs, trainStart);
    events.started?.({ backend: membership.members()[0]!.hello.backend });
    for (const m of membership.members()) {
      sendOrFail(m.peer, {
        t: 'start', v: PROTOCOL_VERSION, ring: membership.ring(), step: firstStep - 1, generator: init.generator, discriminator: init.discriminator,
        ...(opts.curve ? { ringKeys: membership.members().map((w) => w.hello.curvePublicKey ?? '') } : {}),
        ...(init.optimizer ? { generatorOptimizer: init.optimizer.generator, discriminatorOptimizer: init.optimizer.discriminator } : {}),
      });
    }
    shipThrough(firstStep - 1 + opts.prefetch);
    let progressAt = 0;
    const rearm = (): void => {
      progressAt = lastCompleted;
      arm(config.timeoutMs, () => {
        const missing = tracker.missing(lastCompleted + 1);
        return lastCompleted === config.steps
          ? `rank 0 did not send the final weights within ${config.timeoutMs} ms`
          : `step ${lastCompleted + 1} not completed within ${config.timeoutMs} ms: no report from rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${quietest(missing)}`;
      });
    };
    rearm();
    const progress = setInterval(() => { if (lastCompleted !== progressAt) rearm(); }, Math.min(1000, config.timeoutMs / 4));
    try {
      await Promise.race([completion, failure]);
    } finally {
      clearInterval(progress);
    }
    clearTimeout(watchdog);
    const trainSeconds = (performance.now() - trainStart) / 1000;
    const done = lastStep!;
    const weights = finalWeights!;
    const summary: Summary = {
      steps: config.steps,
      workers: config.world,
      globalBatchSize: globalBatch,
      backend: membership.members()[0]!.hello.backend,
      allreduce: config.allreduce,
      final: { dLoss: done.dLoss, gLoss: done.gLoss, dReal: done.dReal, dFake: done.dFake },
      replicaHash: done.hash!,
      imagesPerSecond: (globalBatch * (config.steps - firstStep + 1)) / trainSeconds,
      wallSeconds: (performance.now() - startedAt) / 1000,
      trainSeconds,
      arch: config.arch,
      batchSize: config.batchSize,
      epochs: config.steps / config.stepsPerEpoch,
      seed: config.seed,
      dataset: { dir: dataDir, examples: data.count },
      workerBackends: membership.members().map((m) => m.hello.backend),
      workerDevices: membership.members().map((m) => m.hello.device ?? ''),
      droppedFrames: server.dropped,
      badSteps,
      ...(resumed ? { resumedFrom: { step: resumed.checkpoint.step, file: resumed.file } } : {}),
    };
    broadcast({ t: 'shutdown', v: PROTOCOL_VERSION, ok: true, reason: 'training complete' });
    return { summary, config, weights };
  } catch (err) {
    clearTimeout(watchdog);
    const reason = errorMessage(err);
    broadcast({ t: 'shutdown', v: PROTOCOL_VERSION, ok: false, reason });
    throw err;
  } finally {
    clearInterval(heartbeat);
    zap?.close();
    hooks.signal?.removeEventListener('abort', onAbort);
    await server.close();
  }
}
