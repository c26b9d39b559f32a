import { TimeoutError, TrainerError } from '../shared/errors.js';
import { PROTOCOL_VERSION, type Weights } from '../shared/protocol.js';
import type { Member } from './membership.js';
import { beginAbort, formNext, lose, maybeAllAnswered, maybeScheduleJoin, onStepCompleted, requestState, startGeneration } from './reform.js';
import { type Effect, type RunEvent, type RunState, arm, describe, fail, log, notify, send, toRoster } from './runState.js';
import { askRank0, maybeFinished, quietest, rearmStep, writeCheckpoint } from './stepFlow.js';
import { stepReportRefusal } from './stepTracker.js';

/**
 * The coordinator's decisions: `decide(state, event) -> { state, effects }`. No sockets, timers or files:
 * the shell (coordinator.ts) turns messages, timers and signals into events, and carries the effects out.
 * The state is handed over: use the one returned (the membership, step tracker and abort round inside it
 * are the small pure modules of this directory, updated in place).
 *
 * Transitions (phase, event -> next phase: effects):
 *   registering   hello                 -> registering: welcome | reject
 *   registering   ready (all --workers)  -> training: trainingStarted, start to each, ship prefetch, arm step
 *   registering   ready, bad hash        -> fail E_HANDSHAKE
 *   registering   failure | lost         -> fail (failure) | registering: workerLost
 *   registering   deadline               -> fail: too few workers ready within --register-timeout
 *   training      stepDone (last rank)   -> training: stepCompleted, ship ahead, [finish when the final weights are in]
 *   training      stepDone, step refused -> fail E_PROTOCOL
 *   training      grad (star, last rank) -> training: reduced to the roster
 *   training      weights (rank 0)       -> training: checkpoint | sample/eval weights | finish
 *   training      ready (a joiner)       -> training: joinAt = last shipped step (shipping stops there)
 *   training      stepDone reaches joinAt-> aborting: abort to the roster, arm abort
 *   training      lost (in roster)       -> aborting: shutdown to it, abort to the roster, arm abort
 *   training      deadline, elastic      -> aborting (stalled: fails if every worker answers)
 *   training      deadline, fixed world  -> fail: step not completed, naming the quietest rank
 *   training      stop                   -> training: checkpoint asked of rank 0 after the last shipped step
 *   training      weights at stopAfter   -> fail E_ABORTED after writing the checkpoint
 *   aborting      aborted (all answered) -> (plan) training | awaitingState | waitingForWorkers | finish
 *   aborting      lost                   -> aborting, or (plan) as above once everyone left has answered
 *   aborting      deadline               -> silent members lost, then (plan) as above
 *   (plan)        a survivor ahead of the checkpoint, joiners need state -> awaitingState: checkpoint to it, arm state
 *   (plan)        enough workers         -> training: start to each (state to those behind), arm step
 *   (plan)        fewer than --min-workers -> waitingForWorkers: arm rejoin (0 after a stop)
 *   (plan)        all steps done, final weights missing -> awaitingState from a survivor | finish | fail
 *   awaitingState weights from the source -> training (start), or finish after the last step
 *   awaitingState lost (a survivor)      -> (plan) again without it
 *   awaitingState deadline               -> the source lost -> (plan)
 *   waitingForWorkers ready (a joiner)   -> (plan) training | waitingForWorkers
 *   waitingForWorkers lost (a survivor)  -> (plan) again
 *   waitingForWorkers deadline           -> stopping: checkpoint asked of a survivor | fail E_WORKERS_LOST
 *   stopping      weights from the source -> fail E_WORKERS_LOST after writing the checkpoint
 *   stopping      lost (the source) | deadline -> fail E_WORKERS_LOST naming the newest checkpoint
 *   any but training  stop               -> fail E_ABORTED
 *   any           heartbeatTick          -> heartbeat to each heartbeat connection; silent workers lost
 *   any           heartbeat, wrong session | message from a stranger | unasked weights | stale abort answer -> drop
 */
export function decide(state: RunState, event: RunEvent): { state: RunState; effects: Effect[] } {
  const s = state;
  s.out = [];
  if (!s.over) {
    try {
      apply(s, event);
    } catch (err) {
      fail(s, err instanceof Error ? err : new Error(String(err)));
    }
  }
  const effects = s.out;
  s.out = [];
  return { state: s, effects };
}

function apply(s: RunState, e: RunEvent): void {
  const { now } = e;
  const { config } = s.settings;
  switch (e.t) {
    case 'begin':
      arm(s, 'register', s.settings.registerTimeoutMs);
      return;
    case 'hello': {
      const outcome = s.membership.hello(e.peer, e.msg, e.session);
      if (outcome.kind === 'rejected') {
        log(s, 'warn', `refused worker ${e.msg.host}/${e.msg.pid}: ${outcome.reason}`);
        send(s, e.peer, { t: 'reject', v: PROTOCOL_VERSION, reason: outcome.reason });
        return;
      }
      const m = outcome.member;
      log(s, 'info', `worker ${m.id} (${e.msg.host}/${e.msg.pid}) registered (backend ${e.msg.backend})${s.phase === 'registering' ? '' : '; it joins at a step boundary once ready'}`, { worker: m.id, dataEndpoint: e.msg.dataEndpoint });
      s.liveness.track(m.id, now);
      if (s.phase === 'registering') notify(s, 'workersConnected', s.membership.registered);
      send(s, e.peer, { t: 'welcome', v: PROTOCOL_VERSION, id: m.id, session: m.session, config });
      return;
    }
    case 'message':
      onMessage(s, e.peer, e.msg, now);
      return;
    case 'launchedExit': {
      const m = s.membership.all().find((x) => x.hello.rank === e.slot);
      if (m) lose(s, m, e.reason, now);
      return;
    }
    case 'deadline':
      onDeadline(s, now);
      return;
    case 'heartbeatTick':
      for (const p of s.heartbeatPeers.values()) s.out.push({ kind: 'send', peer: p, msg: { t: 'heartbeat', v: PROTOCOL_VERSION }, bestEffort: true });
      for (const x of s.liveness.silent(now)) {
        const m = s.membership.get(x.id);
        if (m) lose(s, m, `silent for ${(x.ms / 1000).toFixed(1)} s, more than --worker-timeout ${config.workerTimeoutMs / 1000} s`, now);
      }
      return;
    case 'progressTick':
      if (s.phase === 'training' && s.lastCompleted !== s.progressAt) rearmStep(s);
      return;
    case 'stop':
      onStop(s, e.reason);
  }
}

function onMessage(s: RunState, peer: string, msg: Extract<RunEvent, { t: 'message' }>['msg'], now: number): void {
  const { config } = s.settings;
  if (msg.t === 'heartbeat') {
    const m = s.membership.get(msg.id);
    if (!m || m.session !== msg.session) return drop(s, peer, `heartbeat for worker ${msg.id} with a wrong session`);
    s.heartbeatPeers.set(m.id, peer);
    s.liveness.seen(m.id, now);
    return;
  }
  const m = s.membership.byPeerId(peer);
  if (!m) return drop(s, peer, `'${msg.t}' from a peer that is not a registered worker`);
  s.liveness.seen(m.id, now);
  switch (msg.t) {
    case 'ready': {
      const r = s.membership.ready(peer, msg.modelHash, s.settings.expectedHash);
      if (!r.ok) {
        send(s, peer, { t: 'reject', v: PROTOCOL_VERSION, reason: r.reason });
        // Before training every worker runs the same build, so the run cannot go on; a late joiner is merely turned away.
        if (s.phase === 'registering') fail(s, new TrainerError('E_HANDSHAKE', `worker ${m.id} refused: ${r.reason}`));
        else lose(s, m, `refused: ${r.reason}`, now);
        return;
      }
      if (s.phase === 'registering') {
        if (s.membership.readyCount === config.world) startTraining(s, now);
      } else if (s.phase === 'waitingForWorkers') {
        formNext(s, now);
      } else {
        maybeScheduleJoin(s, now);
      }
      return;
    }
    case 'stepDone': {
      if (m.rank === undefined) return drop(s, peer, `step report from ${describe(m)}, which is not training`);
      const refused = stepReportRefusal(msg.step, s.lastCompleted, s.nextShipped - 1) ?? s.tracker.orderRefusal(m.rank, msg.step);
      if (refused) return fail(s, new TrainerError('E_PROTOCOL', `rank ${m.rank} reported ${refused}`));
      if (msg.spans) notify(s, 'spans', m.rank, msg.step, msg.spans);
      if (msg.allreduceChoice) s.allreduceChoice = msg.allreduceChoice;
      const done = s.tracker.report(m.rank, msg);
      if (done) onStepCompleted(s, done, now);
      return;
    }
    case 'grad': {
      if (m.rank === undefined || msg.gen !== s.gen || s.phase !== 'training') {
        return drop(s, peer, `gradients of generation ${msg.gen} step ${msg.step} from ${describe(m)} outside a running generation ${s.gen}`);
      }
      const avg = s.star.add(msg.step, msg.phase, m.rank, msg.data);
      if (avg) toRoster(s, { t: 'reduced', v: PROTOCOL_VERSION, gen: s.gen, step: msg.step, phase: msg.phase, data: avg });
      return;
    }
    case 'weights':
      onWeights(s, m, msg, now);
      return;
    case 'aborted':
      // No replica can have completed a step that was never shipped.
      if (s.phase !== 'aborting' || msg.completed >= s.nextShipped || !s.abortRound?.answer(m.id, msg.gen, msg.completed)) {
        return drop(s, peer, `abort answer for generation ${msg.gen} (step ${msg.completed}) from ${describe(m)} not expected`);
      }
      maybeAllAnswered(s, now);
      return;
    case 'failure':
      notify(s, 'workerFailed', m.id);
      // Before training, a failing worker means a broken setup: stop. During training it is one lost worker.
      if (s.phase === 'registering') fail(s, new TrainerError(msg.code, `worker ${m.id} failed: ${msg.message}`));
      else lose(s, m, `failed: ${msg.code}: ${msg.message}`, now);
  }
}

const drop = (s: RunState, peer: string, reason: string): void => { s.out.push({ kind: 'drop', peer, reason }); };

/** Every worker registered and ready: the first generation starts from the coordinator's own state. */
function startTraining(s: RunState, now: number): void {
  s.trainingStarted = true;
  s.out.push({ kind: 'trainingStarted', backend: s.membership.all()[0]!.hello.backend });
  const first = s.membership.waiting();
  s.resumeState = s.fallback;
  startGeneration(s, first, s.settings.initial.step, first, now);
}

/** Rank 0 of the roster after the change sends weights for samples and checkpoints; a survivor sends the state to resume from. */
function onWeights(s: RunState, m: Member, msg: Weights, now: number): void {
  const { config } = s.settings;
  const optimizer = msg.generatorOptimizer && msg.discriminatorOptimizer ? { generator: msg.generatorOptimizer, discriminator: msg.discriminatorOptimizer } : undefined;
  const state = { step: msg.step, generator: msg.generator, discriminator: msg.discriminator, ...(msg.generatorAverage ? { generatorAverage: msg.generatorAverage } : {}) };
  if ((s.phase === 'awaitingState' || s.phase === 'stopping') && m.id === s.stateSource && msg.step === s.resume?.step && optimizer) {
    s.stateSource = undefined;
    if (s.phase === 'stopping') {
      writeCheckpoint(s, { ...state, optimizer });
      return fail(s, new TrainerError('E_WORKERS_LOST', `${s.stopReason}; checkpoint at step ${msg.step} written: resume with --resume ${s.settings.out}`));
    }
    s.resumeState = { ...state, optimizer };
    formNext(s, now);
    return;
  }
  if (m.rank !== 0 || !s.membership.roster().includes(m)) return drop(s, m.peer, `weights for step ${msg.step} from ${describe(m)}, not asked for`);
  if (optimizer) {
    writeCheckpoint(s, { ...state, optimizer });
    if (msg.step === s.stopAfter) {
      return fail(s, new TrainerError('E_ABORTED', `${s.stopRequested ?? 'stopped'}: stopped after step ${msg.step}; resume with --resume ${s.settings.out}`));
    }
  }
  // Samples, evaluations and the exported generator show the weight average when the run keeps one.
  const shown = { generator: msg.generatorAverage ?? msg.generator, discriminator: msg.discriminator };
  if (msg.step < config.steps) {
    if (config.sampleEvery > 0 && msg.step % config.sampleEvery === 0) notify(s, 'sampleWeights', msg.step, shown);
    if (config.evalEvery > 0 && msg.step % config.evalEvery === 0) notify(s, 'evalWeights', msg.step, shown);
    return;
  }
  s.finalWeights = shown;
  maybeFinished(s);
}

function onDeadline(s: RunState, now: number): void {
  const { config } = s.settings;
  switch (s.deadline) {
    case 'register':
      return fail(s, new TimeoutError(`only ${s.membership.readyCount} of ${config.world} workers registered and ready within ${s.settings.registerTimeoutMs} ms`));
    case 'step': {
      const missing = s.tracker.missing(s.lastCompleted + 1);
      const err = new TimeoutError(s.lastCompleted === config.steps
        ? `rank 0 did not send the final weights within ${config.timeoutMs} ms`
        : `step ${s.lastCompleted + 1} not completed within ${config.timeoutMs} ms: no report from rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${quietest(s, missing, now)}`);
      // An elastic run first asks the roster to abandon the generation. A worker whose main loop is
      // stuck (its heartbeat thread may beat on) cannot answer, and is lost like a dead one; if every
      // worker answers, nobody is stuck: the step is too slow for --timeout, and the run fails.
      if (config.minWorkers < config.world && s.phase === 'training' && s.lastCompleted < config.steps) {
        s.stalled = err;
        log(s, 'warn', `${err.message}; asking every worker to abandon generation ${s.gen}: any that cannot answer within --timeout is lost`, { step: s.lastCompleted + 1, ranks: missing });
        return beginAbort(s, now);
      }
      return fail(s, err);
    }
    case 'abort':
      for (const id of s.abortRound?.silent() ?? []) {
        const m = s.membership.get(id);
        if (m) lose(s, m, `did not answer the abort of generation ${s.gen} within ${config.timeoutMs} ms`, now);
      }
      return;
    case 'state': {
      const m = s.stateSource === undefined ? undefined : s.membership.get(s.stateSource);
      if (m) lose(s, m, `did not send its state within ${config.timeoutMs} ms`, now);
      return;
    }
    case 'rejoin': {
      const have = s.rejoinHave;
      s.stopReason = `only ${have} worker${have === 1 ? '' : 's'} left, fewer than --min-workers ${config.minWorkers}, and none joined within --rejoin-timeout ${config.rejoinTimeoutMs / 1000} s`
        + (s.lostSinceLastGeneration.length > 0 ? ` (lost: ${s.lostSinceLastGeneration.map((l) => `worker ${l.id} ${l.host}/${l.pid}: ${l.reason}`).join('; ')})` : '');
      const r = s.resume!;
      // Save what the survivors hold, if it is newer than the last checkpoint.
      if (r.source !== undefined && r.step > s.fallback.step) return requestState(s, r.source, 'stopping');
      return fail(s, new TrainerError('E_WORKERS_LOST', `${s.stopReason}; the newest checkpoint is at step ${s.fallback.step}${s.fallback.step > 0 ? `: resume with --resume ${s.settings.out}` : ''}`));
    }
    case undefined:
  }
}

function onStop(s: RunState, why: string): void {
  const { config } = s.settings;
  s.stopRequested = why;
  // Before training, or in the middle of a membership change, there is no step to finish: stop now.
  if (s.phase !== 'training') {
    return fail(s, new TrainerError('E_ABORTED', s.trainingStarted ? `${why}; the newest checkpoint is at step ${s.fallback.step}` : why));
  }
  // Every step is already shipped: finishing them is the quickest way to a final checkpoint, and gives the outputs too.
  if (s.nextShipped - 1 >= config.steps) {
    log(s, 'warn', `${why}: the last steps are already under way; finishing the run`);
    return;
  }
  s.stopAfter = Math.max(s.nextShipped - 1, s.lastCompleted);
  log(s, 'warn', `${why}: finishing step ${s.stopAfter} for a final checkpoint (again to stop at once)`, { step: s.stopAfter });
  askRank0(s, s.stopAfter);
}
