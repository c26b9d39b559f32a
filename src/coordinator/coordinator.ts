import { randomBytes } from 'node:crypto';
import { AVERAGE_EVERY } from '../shared/gan/weightAverage.js';
import { decaySteps } from '../shared/gan/lrSchedule.js';
import path from 'node:path';
import { type TrainConfig, modelHash } from '../shared/config.js';
import { TrainerError, errorMessage } from '../shared/errors.js';
import { bundledMnistDir, loadTrainingSet } from '../shared/data/dataset.js';
import { initialWeights } from '../shared/gan/architecture.js';
import { archSpecs } from '../shared/gan/archs.js';
import { GanReplica } from '../shared/gan/replica.js';
import type { Logger } from '../shared/logger.js';
import { type CoordinatorMessage, PROTOCOL_VERSION } from '../shared/protocol.js';
import { startZapHandler } from '../shared/transport/zapHandler.js';
import { CheckpointStore, loadLatestCheckpoint } from './checkpointStore.js';
import { CONTROL_ZAP_DOMAIN, ControlServer } from './controlServer.js';
import { DataFeeder } from '../shared/data/dataFeeder.js';
import { Shipping } from './shipping.js';
import { decide } from './decide.js';
import type { CoordinatorOptions } from './options.js';
import { type CoordinatorEvents, type Effect, type ReplicaState, type RunEvent, type RunState, initialRunState } from './runState.js';
import type { Summary } from './summary.js';
import { buildTrainConfig, checkResumable } from './trainConfig.js';
import { ProgressLog } from './progressLog.js';

export type { CoordinatorEvents } from './runState.js';

export interface CoordinatorHooks {
  events?: CoordinatorEvents;
  /** Called once the control socket is bound, with an endpoint local workers can use (for --spawn). */
  onListening?(endpoint: string): void;
  /** Aborting fails the run at once (a spawned worker died, a signal arrived). */
  signal?: AbortSignal;
  /**
   * Workers this process launched (--spawn, --hosts) report their exits here, by
   * slot: each asked for its slot as its rank, so the run loses it at once
   * instead of after --worker-timeout of silence.
   */
  launchedExits?: { subscribe(listener: (slot: number, reason: string) => void): void };
}

export interface CoordinatorResult {
  summary: Summary;
  config: TrainConfig;
  weights: { generator: Float32Array; discriminator: Float32Array };
}

/**
 * Owns the data set and the run: admits workers, broadcasts the initial state and
 * the ring, ships every rank its slice of each global batch ahead of time,
 * averages gradients in star mode, checks replica hashes, survives lost workers
 * down to --min-workers and admits new ones at step boundaries, and returns the
 * final weights and summary.
 *
 * This is the shell: it loads the data and any checkpoint, binds the control socket, and turns messages,
 * timers and the abort signal into events for `decide` (decide.ts), whose effects it carries out.
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
  const specs = archSpecs(config.arch, config.latentDim);
  const initial: ReplicaState = resumed
    ? { step: resumed.checkpoint.step, ...resumed.checkpoint.weights, optimizer: resumed.checkpoint.optimizer }
    : { step: 0, generator: initialWeights(specs.generator, config.seed), discriminator: initialWeights(specs.discriminator, config.seed) };
  const firstStep = initial.step + 1;
  if (resumed) logger.log('info', `resuming from ${resumed.file}: step ${firstStep - 1} done, continuing to step ${config.steps}`, { file: resumed.file, step: firstStep - 1 });
  const store = new CheckpointStore(path.join(opts.out, 'checkpoints'), opts.keepCheckpoints);
  const globalBatch = config.world * config.batchSize;
  const elastic = config.minWorkers < config.world ? `, continuing with as few as ${config.minWorkers}` : '';
  logger.log('info', `training ${config.arch} GAN: ${config.steps} steps, ${config.world} workers × batch ${config.batchSize}${elastic}, ${data.count} examples from ${dataDir}`, {
    steps: config.steps, workers: config.world, minWorkers: config.minWorkers, batchSize: config.batchSize, examples: data.count, allreduce: config.allreduce, compression: config.compression ?? 'none',
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

  let state: RunState = initialRunState({
    config, expectedHash: modelHash(config, GanReplica.expectedParamShapes(config)), prefetch: opts.prefetch, maxBadSteps: opts.maxBadSteps,
    registerTimeoutMs: opts.registerTimeoutMs, out: opts.out, curve: opts.curve !== undefined, initial, segmentToken: randomBytes(6).toString('hex'),
  });
  events.members?.(() => state.membership.all());
  const shipping = new Shipping(new DataFeeder(data, config), config);
  const progressLog = new ProgressLog(logger, { steps: config.steps, firstStep, stepsPerEpoch: config.stepsPerEpoch, globalBatch, logEvery: opts.logEvery });

  let fail!: (err: Error) => void;
  let finished!: () => void;
  const failure = new Promise<never>((_, reject) => { fail = reject; });
  failure.catch(() => undefined);
  const completion = new Promise<void>((resolve) => { finished = resolve; });
  let trainStart = 0;
  let watchdog: NodeJS.Timeout | undefined;
  let progress: NodeJS.Timeout | undefined;

  const failedSend = (peer: string) => (err: unknown): void => fail(new TrainerError('E_TRANSPORT', `send to ${peer} failed: ${errorMessage(err)}`));
  const sendOrFail = (peer: string, msg: CoordinatorMessage): void => {
    server.send(peer, msg).catch(failedSend(peer));
  };
  const carryOut = (fx: Effect): void => {
    switch (fx.kind) {
      case 'send':
        if (fx.bestEffort) void server.send(fx.peer, fx.msg).catch(() => undefined);
        else sendOrFail(fx.peer, fx.msg);
        return;
      case 'ship': {
        const go = shipping.goAhead(fx.gen, fx.step, fx.through);
        if (go) server.sendToEach(fx.to.map((m) => m.peer), go).forEach((sent, i) => sent.catch(failedSend(fx.to[i]!.peer)));
        else for (let step = fx.step; step <= fx.through; step++) for (const m of fx.to) sendOrFail(m.peer, shipping.messageFor(fx.gen, step, m.rank, fx.to.length));
        return;
      }
      case 'drop':
        server.drop(fx.peer, fx.reason);
        return;
      case 'log':
        logger.log(fx.level, fx.msg, fx.fields);
        return;
      case 'notify': {
        // Called as a method of `events`, as a direct call would be.
        const handler = events[fx.name] as ((...args: unknown[]) => void) | undefined;
        handler?.apply(events, fx.args);
        return;
      }
      case 'checkpoint': {
        const t0 = performance.now();
        const c = fx.state;
        const { file, bytes } = store.write({ step: c.step, config, weights: { generator: c.generator, discriminator: c.discriminator }, optimizer: c.optimizer });
        logger.log('info', `checkpoint at step ${c.step}: ${file}`, { step: c.step, file, bytes, ms: performance.now() - t0 });
        events.checkpointWritten?.(c.step, bytes);
        return;
      }
      case 'arm':
        clearTimeout(watchdog);
        watchdog = setTimeout(() => dispatch({ t: 'deadline' }), fx.ms);
        return;
      case 'trainingStarted':
        trainStart = performance.now();
        progressLog.start(trainStart);
        events.started?.({ backend: fx.backend });
        progress = setInterval(() => dispatch({ t: 'progressTick' }), Math.min(1000, config.timeoutMs / 4));
        return;
      case 'stepCompleted': {
        const now = performance.now();
        events.stepCompleted?.(fx.done, { ...progressLog.completed(fx.done, now), images: globalBatch });
        return;
      }
      case 'finish':
        finished();
        return;
      case 'fail':
        fail(fx.error);
    }
  };
  /** Decides on one event and carries out its effects; anything that throws fails the run. */
  function dispatch(event: DistributiveOmit<RunEvent, 'now'>): void {
    try {
      const out = decide(state, { ...event, now: performance.now() } as RunEvent);
      state = out.state;
      for (const fx of out.effects) carryOut(fx);
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  hooks.launchedExits?.subscribe((slot, reason) => dispatch({ t: 'launchedExit', slot, reason }));
  server.listen({
    onMessage: (peer, msg) => {
      if (msg.t === 'hello') dispatch({ t: 'hello', peer, msg, session: randomBytes(16).toString('hex') });
      else dispatch({ t: 'message', peer, msg });
    },
    onVersionMismatch: (peer, err) => logger.log('warn', `refused peer ${peer}: ${err.message}`),
  });
  // Heartbeats out to every worker's heartbeat thread; a silent worker is lost by name.
  const heartbeat = setInterval(() => dispatch({ t: 'heartbeatTick' }), config.heartbeatMs);
  const onAbort = (): void => dispatch({ t: 'stop', reason: errorMessage(hooks.signal?.reason ?? 'aborted') });
  if (hooks.signal?.aborted) onAbort();
  hooks.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    dispatch({ t: 'begin' });
    await Promise.race([completion, failure]);
    clearTimeout(watchdog);
    const trainSeconds = (performance.now() - trainStart) / 1000;
    const done = state.lastStep!;
    const weights = state.finalWeights!;
    const roster = state.membership.roster();
    const summary: Summary = {
      steps: config.steps,
      workers: config.world,
      globalBatchSize: globalBatch,
      backend: roster[0]?.hello.backend ?? '',
      allreduce: config.allreduce,
      compression: config.compression ?? 'none',
      data: config.data ?? 'coordinator',
      shipped: { batches: shipping.batches, bytes: shipping.bytes },
      learningRate: { lr: config.lr, ...(config.dLr !== undefined ? { dLr: config.dLr } : {}), decaySteps: decaySteps(config) },
      ...(config.labelSmoothing ? { labelSmoothing: config.labelSmoothing } : {}),
      ...(config.emaDecay ? { generatorAverage: { decay: config.emaDecay, updateEvery: AVERAGE_EVERY } } : {}),
      ...(state.allreduceChoice ? { allreduceChoice: state.allreduceChoice } : {}),
      ...(state.sharedMemory !== undefined ? { sharedMemory: state.sharedMemory } : {}),
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
      workerBackends: roster.map((m) => m.hello.backend),
      workerDevices: roster.map((m) => m.hello.device ?? ''),
      droppedFrames: server.dropped,
      badSteps: state.badSteps,
      membership: {
        minWorkers: config.minWorkers,
        generations: state.gen,
        finalWorkers: roster.length,
        workersLost: state.changes.reduce((n, c) => n + c.lost.length, 0),
        workersJoined: state.changes.reduce((n, c) => n + c.joined.length, 0),
        changes: state.changes,
      },
      ...(resumed ? { resumedFrom: { step: resumed.checkpoint.step, file: resumed.file } } : {}),
    };
    for (const m of state.membership.all()) sendOrFail(m.peer, { t: 'shutdown', v: PROTOCOL_VERSION, ok: true, reason: 'training complete' });
    return { summary, config, weights };
  } catch (err) {
    const reason = errorMessage(err);
    for (const m of state.membership.all()) sendOrFail(m.peer, { t: 'shutdown', v: PROTOCOL_VERSION, ok: false, reason });
    throw err;
  } finally {
    clearTimeout(watchdog);
    clearInterval(progress);
    clearInterval(heartbeat);
    zap?.close();
    hooks.signal?.removeEventListener('abort', onAbort);
    await server.close();
  }
}

/** Omit over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
