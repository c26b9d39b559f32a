import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type TrainConfig, modelHash } from '../shared/config.js';
import { TimeoutError, TrainerError, errorMessage } from '../shared/errors.js';
import { bundledMnistDir, loadTrainingSet } from '../shared/data/dataset.js';
import { StarReducer } from '../shared/allreduce/star.js';
import { initialWeights } from '../shared/gan/architecture.js';
import { archSpecs } from '../shared/gan/archs.js';
import { GanReplica } from '../shared/gan/replica.js';
import type { Logger } from '../shared/logger.js';
import { type CoordinatorMessage, PROTOCOL_VERSION, type Span, type Weights, type WorkerMessage } from '../shared/protocol.js';
import { startZapHandler } from '../shared/transport/zapHandler.js';
import { CheckpointStore, loadLatestCheckpoint } from './checkpointStore.js';
import { CONTROL_ZAP_DOMAIN, ControlServer } from './controlServer.js';
import { DataFeeder } from './dataFeeder.js';
import { Liveness } from './liveness.js';
import { type Member, Membership } from './membership.js';
import type { CoordinatorOptions } from './options.js';
import { type ResumePoint, type Survivor, nextRoster, resumePoint } from './reformPlan.js';
import { type CompletedStep, StepTracker, stepReportRefusal } from './stepTracker.js';
import type { MembershipChange, Summary } from './summary.js';
import { buildTrainConfig, checkResumable } from './trainConfig.js';
import { AbortRound } from './abortRound.js';
import { ProgressLog } from './progressLog.js';

/** What the run reports as it goes, for metrics, samples and the timeline; all optional. */
export interface CoordinatorEvents {
  configured?(config: TrainConfig): void;
  listening?(droppedFrames: () => number): void;
  /** Every registered worker, read when needed (Prometheus service discovery). */
  members?(current: () => readonly Member[]): void;
  /** Workers registered, or in the roster once training runs. */
  workersConnected?(count: number): void;
  started?(info: { backend: string }): void;
  stepCompleted?(done: CompletedStep, info: { epoch: number; images: number; stepSeconds: number }): void;
  spans?(rank: number, step: number, spans: Span[]): void;
  /** Rank 0's weights at a sample step (not the final ones, which the result carries). */
  sampleWeights?(step: number, weights: { generator: Float32Array; discriminator: Float32Array }): void;
  /** Rank 0's weights at an --eval-every step (the final ones come with the result). */
  evalWeights?(step: number, weights: { generator: Float32Array; discriminator: Float32Array }): void;
  checkpointWritten?(step: number, bytes: number): void;
  /** Every replica skipped an update of this step for non-finite gradients. */
  badStep?(step: number): void;
  workerFailed?(id: number): void;
  workerLost?(id: number): void;
  /** A new generation formed after workers were lost or joined. */
  membershipChanged?(change: MembershipChange): void;
  replicaMismatch?(): void;
}

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

/** A replica's full state after `step`: what a joining worker or a checkpoint needs. */
interface ReplicaState {
  step: number;
  generator: Float32Array;
  discriminator: Float32Array;
  /** Absent only for the initial state of a fresh run (Adam starts from zero). */
  optimizer?: { generator: Float32Array; discriminator: Float32Array };
}

const stateBytes = (s: ReplicaState): number =>
  s.generator.byteLength + s.discriminator.byteLength + (s.optimizer ? s.optimizer.generator.byteLength + s.optimizer.discriminator.byteLength : 0);

/**
 * Where the run stands. Training runs in generations, each with a fixed roster;
 * losing a worker (or admitting one) abandons the current generation on every
 * member, finds the latest state a survivor holds, and starts the next one.
 */
type Phase =
  | 'registering' // waiting for the first --workers workers
  | 'training'
  | 'aborting' // told the roster to abandon the generation; collecting their answers
  | 'awaitingState' // asked a survivor for the state the next generation starts from
  | 'waitingForWorkers' // fewer than --min-workers: waiting up to --rejoin-timeout
  | 'stopping'; // giving up: collecting a final state for a checkpoint

/**
 * Owns the data set and the run: admits workers, broadcasts the initial state and
 * the ring, ships every rank its slice of each global batch ahead of time,
 * averages gradients in star mode, checks replica hashes, survives lost workers
 * down to --min-workers and admits new ones at step boundaries, and returns the
 * final weights and summary.
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
  /** The newest state the coordinator itself holds: the initial one, then each checkpoint's. */
  let fallback: ReplicaState = resumed
    ? { step: resumed.checkpoint.step, ...resumed.checkpoint.weights, optimizer: resumed.checkpoint.optimizer }
    : { step: 0, generator: initialWeights(specs.generator, config.seed), discriminator: initialWeights(specs.discriminator, config.seed) };
  const firstStep = fallback.step + 1;
  if (resumed) logger.log('info', `resuming from ${resumed.file}: step ${firstStep - 1} done, continuing to step ${config.steps}`, { file: resumed.file, step: firstStep - 1 });
  const store = new CheckpointStore(path.join(opts.out, 'checkpoints'), opts.keepCheckpoints);
  const globalBatch = config.world * config.batchSize;
  const elastic = config.minWorkers < config.world ? `, continuing with as few as ${config.minWorkers}` : '';
  logger.log('info', `training ${config.arch} GAN: ${config.steps} steps, ${config.world} workers × batch ${config.batchSize}${elastic}, ${data.count} examples from ${dataDir}`, {
    steps: config.steps, workers: config.world, minWorkers: config.minWorkers, batchSize: config.batchSize, examples: data.count, allreduce: config.allreduce,
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
  events.members?.(() => membership.all());
  const liveness = new Liveness(config.workerTimeoutMs);
  const feeder = new DataFeeder(data, config);
  // Whichever path finds a mismatch (a report, or a flush after a loss), the metric counts it.
  const countMismatch = (): void => events.replicaMismatch?.();
  let tracker = new StepTracker(config.world, countMismatch);
  let star = new StarReducer(config.world);

  let fail!: (err: Error) => void;
  let registered!: () => void;
  let finished!: () => void;
  const failure = new Promise<never>((_, reject) => { fail = reject; });
  failure.catch(() => undefined);
  const registration = new Promise<void>((resolve) => { registered = resolve; });
  const completion = new Promise<void>((resolve) => { finished = resolve; });

  let phase: Phase = 'registering';
  let gen = 0;
  let lastCompleted = firstStep - 1;
  let lastStep: CompletedStep | undefined;
  let finalWeights: { generator: Float32Array; discriminator: Float32Array } | undefined;
  let trainStart = 0;
  let nextShipped = firstStep;
  let badSteps = 0;
  let allreduceChoice: Summary['allreduceChoice'];
  const progressLog = new ProgressLog(logger, { steps: config.steps, firstStep, stepsPerEpoch: config.stepsPerEpoch, globalBatch, logEvery: opts.logEvery });

  // Membership changes in progress: who was lost, since when, the survivors' answers, the state to resume from.
  const changes: MembershipChange[] = [];
  let lostSinceLastGeneration: MembershipChange['lost'] = [];
  let troubleAt: number | undefined;
  let abortRound: AbortRound | undefined;
  let survivors: Survivor[] = [];
  let resume: ResumePoint | undefined;
  let resumeState: ReplicaState | undefined;
  let stateSource: number | undefined;
  let rejoinDeadline: number | undefined;
  let stopReason = '';
  /** Set while a waiting worker is to be admitted after this step (shipping stops there). */
  let joinAt: number | undefined;
  /** The generation whose first completed step is still awaited, to time the recovery. */
  let recovering: { change: MembershipChange; since: number } | undefined;
  let pendingStepsLost = 0;

  const sendOrFail = (peer: string, msg: CoordinatorMessage): void => {
    server.send(peer, msg).catch((err: unknown) => fail(new TrainerError('E_TRANSPORT', `send to ${peer} failed: ${errorMessage(err)}`)));
  };
  const toRoster = (msg: CoordinatorMessage): void => {
    for (const m of membership.roster()) sendOrFail(m.peer, msg);
  };
  const describe = (m: Member): string => `worker ${m.id}${m.rank === undefined ? '' : ` (rank ${m.rank})`} ${m.hello.host}/${m.hello.pid}`;

  /** Set when stopping on a signal: the last step shipped, after which rank 0's state becomes the final checkpoint. */
  let stopAfter: number | undefined;
  const shipThrough = (step: number): void => {
    if (phase !== 'training') return;
    const world = membership.roster().length;
    for (; nextShipped <= Math.min(step, stopAfter ?? config.steps, joinAt ?? Infinity); nextShipped++) {
      for (const m of membership.roster()) sendOrFail(m.peer, { t: 'batch', v: PROTOCOL_VERSION, gen, ...feeder.batchFor(nextShipped, m.rank!, world) });
    }
  };

  // One watchdog for the whole run: every phase must make progress within its deadline.
  let watchdog: NodeJS.Timeout | undefined;
  const arm = (ms: number, onExpiry: () => void): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      try {
        onExpiry();
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    }, Math.max(0, ms));
  };
  /** Among ranks that did not report, the one heard from least recently: usually the one the others wait for. */
  const quietest = (ranks: number[]): string => {
    const ids = ranks.flatMap((r) => { const m = membership.roster()[r]; return m ? [m.id] : []; });
    if (ids.length < 2) return '';
    const ages = liveness.ages(ids, performance.now());
    const i = ages.indexOf(Math.max(...ages));
    return ` (rank ${ranks[i]} last heard from ${(ages[i]! / 1000).toFixed(1)} s ago)`;
  };
  let progressAt = 0;
  /** Set while an elastic run checks who is stuck after the step deadline passed: the error if nobody is. */
  let stalled: TimeoutError | undefined;
  const rearm = (): void => {
    progressAt = lastCompleted;
    arm(config.timeoutMs, () => {
      const missing = tracker.missing(lastCompleted + 1);
      const err = new TimeoutError(lastCompleted === config.steps
        ? `rank 0 did not send the final weights within ${config.timeoutMs} ms`
        : `step ${lastCompleted + 1} not completed within ${config.timeoutMs} ms: no report from rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${quietest(missing)}`);
      // An elastic run first asks the roster to abandon the generation. A worker whose main loop is
      // stuck (its heartbeat thread may beat on) cannot answer, and is lost like a dead one; if every
      // worker answers, nobody is stuck: the step is too slow for --timeout, and the run fails.
      if (config.minWorkers < config.world && phase === 'training' && lastCompleted < config.steps) {
        stalled = err;
        logger.log('warn', `${err.message}; asking every worker to abandon generation ${gen}: any that cannot answer within --timeout is lost`, { step: lastCompleted + 1, ranks: missing });
        beginAbort();
        return;
      }
      fail(err);
    });
  };

  const maybeFinished = (): void => {
    if (lastCompleted === config.steps && finalWeights) finished();
  };

  const writeCheckpoint = (state: ReplicaState & { optimizer: NonNullable<ReplicaState['optimizer']> }): void => {
    const t0 = performance.now();
    const { file, bytes } = store.write({ step: state.step, config, weights: { generator: state.generator, discriminator: state.discriminator }, optimizer: state.optimizer });
    logger.log('info', `checkpoint at step ${state.step}: ${file}`, { step: state.step, file, bytes, ms: performance.now() - t0 });
    events.checkpointWritten?.(state.step, bytes);
    fallback = state;
  };

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
    const now = performance.now();
    if (recovering && phase === 'training') {
      const c = recovering.change;
      c.recoveryMs = now - recovering.since;
      logger.log('info', `generation ${c.generation}: first step done ${(c.recoveryMs / 1000).toFixed(2)} s after the membership change began`, { gen: c.generation, step: done.step, recoveryMs: c.recoveryMs });
      recovering = undefined;
    }
    shipThrough(done.step + opts.prefetch);
    events.stepCompleted?.(done, { ...progressLog.completed(done, now), images: globalBatch });
    if (phase === 'training' && joinAt !== undefined && lastCompleted >= joinAt) beginAbort();
    maybeFinished();
  };

  // ---- Membership changes -------------------------------------------------------------------

  /** A worker is gone (silent, failed, or did not answer): forget it, and re-form the ring without it if it was in one. */
  const lose = (m: Member, reason: string): void => {
    if (!membership.has(m.id)) return;
    const inRoster = membership.roster().includes(m);
    logger.log('warn', `${describe(m)} lost: ${reason}`, { worker: m.id, rank: m.rank, reason });
    membership.remove(m.id);
    liveness.forget(m.id);
    heartbeatPeers.delete(m.id);
    // If it is alive after all (a long pause), it must not wait for a ring that has moved on.
    void server.send(m.peer, { t: 'shutdown', v: PROTOCOL_VERSION, ok: false, reason: `the coordinator lost this worker: ${reason}` }).catch(() => undefined);
    events.workerLost?.(m.id);
    if (phase === 'registering') {
      events.workersConnected?.(membership.registered);
      return;
    }
    lostSinceLastGeneration.push({ id: m.id, host: m.hello.host, pid: m.hello.pid, reason });
    troubleAt ??= performance.now();
    switch (phase) {
      case 'training':
        if (inRoster) beginAbort();
        return;
      case 'aborting':
        abortRound?.forget(m.id);
        maybeAllAnswered();
        return;
      case 'awaitingState':
      case 'waitingForWorkers':
        if (survivors.some((s) => s.id === m.id)) planNext();
        return;
      case 'stopping':
        if (stateSource === m.id) fail(new TrainerError('E_WORKERS_LOST', `${stopReason}; the newest checkpoint is at step ${fallback.step}`));
    }
  };

  /** Tells the roster to abandon the current generation; each answers with the step it rolled back to. */
  const beginAbort = (): void => {
    phase = 'aborting';
    troubleAt ??= performance.now();
    const round = new AbortRound(gen, membership.roster().map((m) => m.id));
    abortRound = round;
    toRoster({ t: 'abort', v: PROTOCOL_VERSION, gen });
    arm(config.timeoutMs, () => {
      for (const id of round.silent()) {
        const m = membership.get(id);
        if (m) lose(m, `did not answer the abort of generation ${gen} within ${config.timeoutMs} ms`);
      }
    });
    maybeAllAnswered();
  };

  const maybeAllAnswered = (): void => {
    if (phase !== 'aborting' || !abortRound?.complete) return;
    if (stalled && lostSinceLastGeneration.length === 0) return fail(stalled);
    stalled = undefined;
    survivors = abortRound.survivors();
    planNext();
  };

  /** From the survivors' answers: where training continues, then who trains next. */
  const planNext = (): void => {
    survivors = survivors.filter((s) => membership.has(s.id));
    resume = resumePoint(survivors, fallback.step);
    resumeState = undefined;
    // Steps the survivors finished but a lost rank never reported are complete: their reports say so.
    for (let s = lastCompleted + 1; s <= resume.step; s++) {
      const done = tracker.flush(s);
      if (done) onStepCompleted(done);
      else lastCompleted = s;
    }
    if (resume.step < lastCompleted) {
      pendingStepsLost += lastCompleted - resume.step;
      logger.log('warn', `no surviving worker holds a state: back to the checkpoint at step ${resume.step}, ${lastCompleted - resume.step} completed step(s) lost`, { step: resume.step });
      lastCompleted = resume.step;
    }
    formNext();
  };

  const formNext = (): void => {
    const r = resume!;
    if (r.step >= config.steps) {
      // Everything is trained; only the final weights are missing (rank 0 was lost after the last step).
      if (finalWeights) return maybeFinished();
      if (resumeState) {
        if (resumeState.optimizer) writeCheckpoint({ ...resumeState, optimizer: resumeState.optimizer });
        finalWeights = { generator: resumeState.generator, discriminator: resumeState.discriminator };
        return maybeFinished();
      }
      if (r.source !== undefined) return requestState(r.source, 'awaitingState');
      return fail(new TrainerError('E_WORKERS_LOST', 'every worker was lost after the last step, before the final weights arrived'));
    }
    const surviving = survivors.map((s) => membership.get(s.id)!);
    const { roster, enough } = nextRoster(surviving, membership.waiting(), config.world, config.minWorkers);
    if (!enough) return waitForWorkers(roster.length);
    const needState = roster.filter((m) => !survivors.some((s) => s.id === m.id && s.completed === r.step));
    if (needState.length > 0 && !resumeState) {
      // The coordinator holds the state at its newest checkpoint (or the start) itself: only a newer one must come
      // from a survivor (and there is no 'state after step 0' to ask for: the protocol refuses step 0).
      if (r.source !== undefined && r.step > fallback.step) return requestState(r.source, 'awaitingState');
      resumeState = fallback;
    }
    startGeneration(roster, r.step, needState);
  };

  /** Asks survivor `id` for its state after the resume step (it has rolled back to exactly that). */
  const requestState = (id: number, next: 'awaitingState' | 'stopping'): void => {
    phase = next;
    stateSource = id;
    const m = membership.get(id)!;
    sendOrFail(m.peer, { t: 'checkpoint', v: PROTOCOL_VERSION, step: resume!.step });
    arm(config.timeoutMs, () => lose(m, `did not send its state within ${config.timeoutMs} ms`));
  };

  const waitForWorkers = (have: number): void => {
    phase = 'waitingForWorkers';
    if (rejoinDeadline === undefined) {
      // A run told to stop (a signal, a spawned worker's death in a fixed world) waits for nobody.
      rejoinDeadline = performance.now() + (hooks.signal?.aborted ? 0 : config.rejoinTimeoutMs);
      logger.log('warn', `${have} worker${have === 1 ? '' : 's'} left, fewer than --min-workers ${config.minWorkers}: waiting up to ${config.rejoinTimeoutMs / 1000} s (--rejoin-timeout) for workers to join`, { workers: have, minWorkers: config.minWorkers });
    }
    arm(rejoinDeadline - performance.now(), () => {
      stopReason = `only ${have} worker${have === 1 ? '' : 's'} left, fewer than --min-workers ${config.minWorkers}, and none joined within --rejoin-timeout ${config.rejoinTimeoutMs / 1000} s`
        + (lostSinceLastGeneration.length > 0 ? ` (lost: ${lostSinceLastGeneration.map((l) => `worker ${l.id} ${l.host}/${l.pid}: ${l.reason}`).join('; ')})` : '');
      const r = resume!;
      // Save what the survivors hold, if it is newer than the last checkpoint.
      if (r.source !== undefined && r.step > fallback.step) requestState(r.source, 'stopping');
      else fail(new TrainerError('E_WORKERS_LOST', `${stopReason}; the newest checkpoint is at step ${fallback.step}${fallback.step > 0 ? `: resume with --resume ${opts.out}` : ''}`));
    });
  };

  /** Rank 0 of the roster after the change sends weights for samples and checkpoints; a survivor sends the state to resume from. */
  const onWeights = (m: Member, msg: Weights): void => {
    const optimizer = msg.generatorOptimizer && msg.discriminatorOptimizer ? { generator: msg.generatorOptimizer, discriminator: msg.discriminatorOptimizer } : undefined;
    const state = { step: msg.step, generator: msg.generator, discriminator: msg.discriminator };
    if ((phase === 'awaitingState' || phase === 'stopping') && m.id === stateSource && msg.step === resume?.step && optimizer) {
      stateSource = undefined;
      if (phase === 'stopping') {
        writeCheckpoint({ ...state, optimizer });
        fail(new TrainerError('E_WORKERS_LOST', `${stopReason}; checkpoint at step ${msg.step} written: resume with --resume ${opts.out}`));
        return;
      }
      resumeState = { ...state, optimizer };
      formNext();
      return;
    }
    if (m.rank !== 0 || !membership.roster().includes(m)) {
      server.drop(m.peer, `weights for step ${msg.step} from ${describe(m)}, not asked for`);
      return;
    }
    if (optimizer) {
      writeCheckpoint({ ...state, optimizer });
      if (msg.step === stopAfter) {
        fail(new TrainerError('E_ABORTED', `${errorMessage(hooks.signal?.reason ?? 'stopped')}: stopped after step ${msg.step}; resume with --resume ${opts.out}`));
        return;
      }
    }
    if (msg.step < config.steps) {
      if (config.sampleEvery > 0 && msg.step % config.sampleEvery === 0) events.sampleWeights?.(msg.step, state);
      if (config.evalEvery > 0 && msg.step % config.evalEvery === 0) events.evalWeights?.(msg.step, state);
      return;
    }
    finalWeights = state;
    maybeFinished();
  };

  /** A ready worker not in the roster joins once the steps already shipped are done. */
  const maybeScheduleJoin = (): void => {
    if (phase !== 'training' || joinAt !== undefined) return;
    const waiting = membership.waiting();
    if (waiting.length === 0 || membership.roster().length >= config.world) return;
    const boundary = nextShipped - 1;
    // The run ends before a new generation could form: let it.
    if (boundary >= config.steps) return;
    joinAt = boundary;
    troubleAt = performance.now();
    logger.log('info', `admitting ${waiting.map(describe).join(', ')} after step ${boundary}`, { step: boundary, workers: waiting.map((m) => m.id) });
    if (lastCompleted >= boundary) beginAbort();
  };

  /** Starts generation gen+1 with this roster after `step`; `needState` get the state in their start message. */
  const startGeneration = (roster: Member[], step: number, needState: Member[]): void => {
    const previous = new Set(membership.roster().map((m) => m.id));
    gen++;
    membership.form(roster);
    const world = roster.length;
    tracker = new StepTracker(world, countMismatch);
    star = new StarReducer(world);
    const now = performance.now();
    for (const m of roster) liveness.track(m.id, now);
    const ring = roster.map((m) => m.hello.dataEndpoint);
    const ringKeys = opts.curve ? { ringKeys: roster.map((m) => m.hello.curvePublicKey ?? '') } : {};
    let bytes = 0;
    for (const m of roster) {
      const s = needState.includes(m) ? resumeState! : undefined;
      if (s) bytes += stateBytes(s);
      sendOrFail(m.peer, {
        t: 'start', v: PROTOCOL_VERSION, gen, rank: m.rank!, world, ring, step, ...ringKeys,
        ...(s ? { generator: s.generator, discriminator: s.discriminator } : {}),
        ...(s?.optimizer ? { generatorOptimizer: s.optimizer.generator, discriminatorOptimizer: s.optimizer.discriminator } : {}),
      });
    }
    events.workersConnected?.(world);
    if (gen > 1) {
      const change: MembershipChange = {
        generation: gen, step, workers: world, workerIds: roster.map((m) => m.id),
        lost: lostSinceLastGeneration,
        joined: roster.filter((m) => !previous.has(m.id)).map((m) => ({ id: m.id, host: m.hello.host, pid: m.hello.pid })),
        stepsLost: pendingStepsLost, stateBytes: bytes, pauseMs: now - (troubleAt ?? now),
      };
      changes.push(change);
      recovering = { change, since: troubleAt ?? now };
      events.membershipChanged?.(change);
      logger.log('info', `generation ${gen}: ${world} worker${world === 1 ? '' : 's'} (${roster.map(describe).join(', ')}), continuing after step ${step}; ${bytes} bytes of state sent to ${needState.length} worker${needState.length === 1 ? '' : 's'}`, {
        gen, step, workers: world, lost: change.lost.map((l) => l.id), joined: change.joined.map((j) => j.id), stateBytes: bytes, pauseMs: change.pauseMs,
      });
    } else {
      logger.log('info', `generation 1: ${world} workers, starting after step ${step}`, { gen, step, workers: world });
    }
    phase = 'training';
    lostSinceLastGeneration = [];
    troubleAt = undefined;
    rejoinDeadline = undefined;
    joinAt = undefined;
    resumeState = undefined;
    survivors = [];
    pendingStepsLost = 0;
    nextShipped = step + 1;
    if (stopAfter !== undefined && step >= stopAfter) {
      // Stopping on a signal, and the step to stop after is already done: the new rank 0 sends its state for the final checkpoint.
      stopAfter = step;
      sendOrFail(roster[0]!.peer, { t: 'checkpoint', v: PROTOCOL_VERSION, step });
    }
    shipThrough(step + opts.prefetch);
    rearm();
    maybeScheduleJoin();
  };

  // ---- Messages -------------------------------------------------------------------------------

  // Heartbeats come from each worker's heartbeat thread, on a connection of its own, named by a session secret.
  const heartbeatPeers = new Map<number, string>();

  const handle = (peer: string, msg: WorkerMessage): void => {
    if (msg.t === 'hello') {
      const outcome = membership.hello(peer, msg, randomBytes(16).toString('hex'));
      if (outcome.kind === 'rejected') {
        logger.log('warn', `refused worker ${msg.host}/${msg.pid}: ${outcome.reason}`);
        sendOrFail(peer, { t: 'reject', v: PROTOCOL_VERSION, reason: outcome.reason });
        return;
      }
      const m = outcome.member;
      logger.log('info', `worker ${m.id} (${msg.host}/${msg.pid}) registered (backend ${msg.backend})${phase === 'registering' ? '' : '; it joins at a step boundary once ready'}`, { worker: m.id, dataEndpoint: msg.dataEndpoint });
      liveness.track(m.id, performance.now());
      if (phase === 'registering') events.workersConnected?.(membership.registered);
      sendOrFail(peer, { t: 'welcome', v: PROTOCOL_VERSION, id: m.id, session: m.session, config });
      return;
    }
    if (msg.t === 'heartbeat') {
      const m = membership.get(msg.id);
      if (!m || m.session !== msg.session) {
        server.drop(peer, `heartbeat for worker ${msg.id} with a wrong session`);
        return;
      }
      heartbeatPeers.set(m.id, peer);
      liveness.seen(m.id, performance.now());
      return;
    }
    const m = membership.byPeerId(peer);
    if (!m) {
      server.drop(peer, `'${msg.t}' from a peer that is not a registered worker`);
      return;
    }
    liveness.seen(m.id, performance.now());
    switch (msg.t) {
      case 'ready': {
        const r = membership.ready(peer, msg.modelHash, expectedHash);
        if (!r.ok) {
          sendOrFail(peer, { t: 'reject', v: PROTOCOL_VERSION, reason: r.reason });
          // Before training every worker runs the same build, so the run cannot go on; a late joiner is merely turned away.
          if (phase === 'registering') fail(new TrainerError('E_HANDSHAKE', `worker ${m.id} refused: ${r.reason}`));
          else lose(m, `refused: ${r.reason}`);
          return;
        }
        if (phase === 'registering') {
          if (membership.readyCount === config.world) registered();
        } else if (phase === 'waitingForWorkers') {
          formNext();
        } else {
          maybeScheduleJoin();
        }
        return;
      }
      case 'stepDone': {
        if (m.rank === undefined) {
          server.drop(peer, `step report from ${describe(m)}, which is not training`);
          return;
        }
        const refused = stepReportRefusal(msg.step, lastCompleted, nextShipped - 1);
        if (refused) {
          fail(new TrainerError('E_PROTOCOL', `rank ${m.rank} reported ${refused}`));
          return;
        }
        if (msg.spans) events.spans?.(m.rank, msg.step, msg.spans);
        if (msg.allreduceChoice) allreduceChoice = msg.allreduceChoice;
        const done = tracker.report(m.rank, msg);
        if (done) onStepCompleted(done);
        return;
      }
      case 'grad': {
        if (m.rank === undefined || msg.gen !== gen || phase !== 'training') {
          server.drop(peer, `gradients of generation ${msg.gen} step ${msg.step} from ${describe(m)} outside a running generation ${gen}`);
          return;
        }
        const avg = star.add(msg.step, msg.phase, m.rank, msg.data);
        if (avg) toRoster({ t: 'reduced', v: PROTOCOL_VERSION, gen, step: msg.step, phase: msg.phase, data: avg });
        return;
      }
      case 'weights':
        onWeights(m, msg);
        return;
      case 'aborted':
        // No replica can have completed a step that was never shipped.
        if (phase !== 'aborting' || msg.completed >= nextShipped || !abortRound?.answer(m.id, msg.gen, msg.completed)) {
          server.drop(peer, `abort answer for generation ${msg.gen} (step ${msg.completed}) from ${describe(m)} not expected`);
          return;
        }
        maybeAllAnswered();
        return;
      case 'failure':
        events.workerFailed?.(m.id);
        // Before training, a failing worker means a broken setup: stop. During training it is one lost worker.
        if (phase === 'registering') fail(new TrainerError(msg.code, `worker ${m.id} failed: ${msg.message}`));
        else lose(m, `failed: ${msg.code}: ${msg.message}`);
    }
  };

  hooks.launchedExits?.subscribe((slot, reason) => {
    try {
      const m = membership.all().find((x) => x.hello.rank === slot);
      if (m) lose(m, reason);
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
  });

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

  // Heartbeats out to every worker's heartbeat thread; a silent worker is lost by name.
  const heartbeat = setInterval(() => {
    for (const p of heartbeatPeers.values()) void server.send(p, { t: 'heartbeat', v: PROTOCOL_VERSION }).catch(() => undefined);
    try {
      for (const s of liveness.silent(performance.now())) {
        const m = membership.get(s.id);
        if (m) lose(m, `silent for ${(s.ms / 1000).toFixed(1)} s, more than --worker-timeout ${config.workerTimeoutMs / 1000} s`);
      }
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
  }, config.heartbeatMs);

  const onAbort = (): void => {
    const why = errorMessage(hooks.signal?.reason ?? 'aborted');
    // Before training, or in the middle of a membership change, there is no step to finish: stop now.
    if (phase !== 'training') {
      fail(new TrainerError('E_ABORTED', trainStart === 0 ? why : `${why}; the newest checkpoint is at step ${fallback.step}`));
      return;
    }
    // Every step is already shipped: finishing them is the quickest way to a final checkpoint, and gives the outputs too.
    if (nextShipped - 1 >= config.steps) {
      logger.log('warn', `${why}: the last steps are already under way; finishing the run`);
      return;
    }
    stopAfter = Math.max(nextShipped - 1, lastCompleted);
    logger.log('warn', `${why}: finishing step ${stopAfter} for a final checkpoint (again to stop at once)`, { step: stopAfter });
    const rank0 = membership.roster()[0];
    if (rank0) sendOrFail(rank0.peer, { t: 'checkpoint', v: PROTOCOL_VERSION, step: stopAfter });
  };
  if (hooks.signal?.aborted) onAbort();
  hooks.signal?.addEventListener('abort', onAbort, { once: true });

  let progress: NodeJS.Timeout | undefined;
  try {
    arm(opts.registerTimeoutMs, () => fail(new TimeoutError(`only ${membership.readyCount} of ${config.world} workers registered and ready within ${opts.registerTimeoutMs} ms`)));
    await Promise.race([registration, failure]);

    trainStart = performance.now();
    progressLog.start(trainStart);
    events.started?.({ backend: membership.all()[0]!.hello.backend });
    const first = membership.waiting();
    resumeState = fallback;
    startGeneration(first, firstStep - 1, first);
    progress = setInterval(() => { if (phase === 'training' && lastCompleted !== progressAt) rearm(); }, Math.min(1000, config.timeoutMs / 4));
    await Promise.race([completion, failure]);
    clearTimeout(watchdog);
    const trainSeconds = (performance.now() - trainStart) / 1000;
    const done = lastStep!;
    const weights = finalWeights!;
    const roster = membership.roster();
    const summary: Summary = {
      steps: config.steps,
      workers: config.world,
      globalBatchSize: globalBatch,
      backend: roster[0]?.hello.backend ?? '',
      allreduce: config.allreduce,
      ...(allreduceChoice ? { allreduceChoice } : {}),
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
      badSteps,
      membership: {
        minWorkers: config.minWorkers,
        generations: gen,
        finalWorkers: roster.length,
        workersLost: changes.reduce((n, c) => n + c.lost.length, 0),
        workersJoined: changes.reduce((n, c) => n + c.joined.length, 0),
        changes,
      },
      ...(resumed ? { resumedFrom: { step: resumed.checkpoint.step, file: resumed.file } } : {}),
    };
    for (const m of membership.all()) sendOrFail(m.peer, { t: 'shutdown', v: PROTOCOL_VERSION, ok: true, reason: 'training complete' });
    return { summary, config, weights };
  } catch (err) {
    const reason = errorMessage(err);
    for (const m of membership.all()) sendOrFail(m.peer, { t: 'shutdown', v: PROTOCOL_VERSION, ok: false, reason });
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
