import { StarReducer } from '../shared/allreduce/star.js';
import { wireCodec } from '../shared/allreduce/compression.js';
import { describeLinks, ringEndpoints, sharedMemoryRefusal } from './ringEndpoints.js';
import { segmentName } from '../shared/allreduce/sharedMemoryPlan.js';
import { TrainerError } from '../shared/errors.js';
import { PROTOCOL_VERSION } from '../shared/protocol.js';
import { AbortRound } from './abortRound.js';
import type { Member } from './membership.js';
import { nextRoster, resumePoint } from './reformPlan.js';
import { type ReplicaState, type RunState, arm, describe, fail, log, newTracker, notify, send, toRoster } from './runState.js';
import type { CompletedStep } from './stepTracker.js';
import type { MembershipChange } from './summary.js';
import { askRank0, maybeFinished, rearmStep, shipAhead, writeCheckpoint } from './stepFlow.js';

// Completed steps and membership changes: losing a worker, the abort round, where to resume, waiting for
// workers, and the start of each generation. Every function appends its effects to `s.out`.

const stateBytes = (r: ReplicaState): number =>
  r.generator.byteLength + r.discriminator.byteLength + (r.optimizer ? r.optimizer.generator.byteLength + r.optimizer.discriminator.byteLength : 0);

export function onStepCompleted(s: RunState, done: CompletedStep, now: number): void {
  const { settings } = s;
  s.lastCompleted = done.step;
  if (done.skipped.length > 0) {
    s.badSteps++;
    notify(s, 'badStep', done.step);
    log(s, 'warn', `step ${done.step}: averaged ${done.skipped.map((p) => (p === 'd' ? 'discriminator' : 'generator')).join(' and ')} gradients not finite; update skipped on every replica (${s.badSteps} of at most ${settings.maxBadSteps})`, { step: done.step, skipped: done.skipped, badSteps: s.badSteps });
    if (s.badSteps > settings.maxBadSteps) {
      fail(s, new TrainerError('E_BAD_STEPS', `${s.badSteps} step${s.badSteps === 1 ? '' : 's'} with non-finite gradients (the last at step ${done.step}), more than --max-bad-steps ${settings.maxBadSteps}: the run diverged; lower --lr or resume from a checkpoint`));
      return;
    }
  }
  s.lastStep = done;
  if (s.recovering && s.phase === 'training') {
    const c = s.recovering.change;
    c.recoveryMs = now - s.recovering.since;
    log(s, 'info', `generation ${c.generation}: first step done ${(c.recoveryMs / 1000).toFixed(2)} s after the membership change began`, { gen: c.generation, step: done.step, recoveryMs: c.recoveryMs });
    s.recovering = undefined;
  }
  shipAhead(s);
  s.out.push({ kind: 'stepCompleted', done });
  if (s.phase === 'training' && s.joinAt !== undefined && s.lastCompleted >= s.joinAt) beginAbort(s, now);
  maybeFinished(s);
}

/** A worker is gone (silent, failed, or did not answer): forget it, and re-form the ring without it if it was in one. */
export function lose(s: RunState, m: Member, reason: string, now: number): void {
  const { membership } = s;
  if (!membership.has(m.id)) return;
  const inRoster = membership.roster().includes(m);
  log(s, 'warn', `${describe(m)} lost: ${reason}`, { worker: m.id, rank: m.rank, reason });
  membership.remove(m.id);
  s.liveness.forget(m.id);
  s.heartbeatPeers.delete(m.id);
  // If it is alive after all (a long pause), it must not wait for a ring that has moved on.
  s.out.push({ kind: 'send', peer: m.peer, msg: { t: 'shutdown', v: PROTOCOL_VERSION, ok: false, reason: `the coordinator lost this worker: ${reason}` }, bestEffort: true });
  notify(s, 'workerLost', m.id);
  if (s.phase === 'registering') {
    notify(s, 'workersConnected', membership.registered);
    return;
  }
  s.lostSinceLastGeneration.push({ id: m.id, host: m.hello.host, pid: m.hello.pid, reason });
  s.troubleAt ??= now;
  switch (s.phase) {
    case 'training':
      if (inRoster) beginAbort(s, now);
      return;
    case 'aborting':
      s.abortRound?.forget(m.id);
      maybeAllAnswered(s, now);
      return;
    case 'awaitingState':
    case 'waitingForWorkers':
      if (s.survivors.some((x) => x.id === m.id)) planNext(s, now);
      return;
    case 'stopping':
      if (s.stateSource === m.id) fail(s, new TrainerError('E_WORKERS_LOST', `${s.stopReason}; the newest checkpoint is at step ${s.fallback.step}`));
  }
}

/** Tells the roster to abandon the current generation; each answers with the step it rolled back to. */
export function beginAbort(s: RunState, now: number): void {
  s.phase = 'aborting';
  s.troubleAt ??= now;
  s.abortRound = new AbortRound(s.gen, s.membership.roster().map((m) => m.id));
  toRoster(s, { t: 'abort', v: PROTOCOL_VERSION, gen: s.gen });
  arm(s, 'abort', s.settings.config.timeoutMs);
  maybeAllAnswered(s, now);
}

export function maybeAllAnswered(s: RunState, now: number): void {
  if (s.phase !== 'aborting' || !s.abortRound?.complete) return;
  if (s.stalled && s.lostSinceLastGeneration.length === 0) return fail(s, s.stalled);
  s.stalled = undefined;
  s.survivors = s.abortRound.survivors();
  planNext(s, now);
}

/** From the survivors' answers: where training continues, then who trains next. */
export function planNext(s: RunState, now: number): void {
  s.survivors = s.survivors.filter((x) => s.membership.has(x.id));
  const resume = resumePoint(s.survivors, s.fallback.step);
  s.resume = resume;
  s.resumeState = undefined;
  // Steps the survivors finished but a lost rank never reported are complete: their reports say so.
  for (let step = s.lastCompleted + 1; step <= resume.step; step++) {
    const done = s.tracker.flush(step);
    if (done) onStepCompleted(s, done, now);
    else s.lastCompleted = step;
  }
  if (resume.step < s.lastCompleted) {
    s.pendingStepsLost += s.lastCompleted - resume.step;
    log(s, 'warn', `no surviving worker holds a state: back to the checkpoint at step ${resume.step}, ${s.lastCompleted - resume.step} completed step(s) lost`, { step: resume.step });
    s.lastCompleted = resume.step;
  }
  formNext(s, now);
}

export function formNext(s: RunState, now: number): void {
  const { config } = s.settings;
  const r = s.resume!;
  if (r.step >= config.steps) {
    // Everything is trained; only the final weights are missing (rank 0 was lost after the last step).
    if (s.finalWeights) return maybeFinished(s);
    if (s.resumeState) {
      if (s.resumeState.optimizer) writeCheckpoint(s, { ...s.resumeState, optimizer: s.resumeState.optimizer });
      s.finalWeights = { generator: s.resumeState.generatorAverage ?? s.resumeState.generator, discriminator: s.resumeState.discriminator };
      return maybeFinished(s);
    }
    if (r.source !== undefined) return requestState(s, r.source, 'awaitingState');
    return fail(s, new TrainerError('E_WORKERS_LOST', 'every worker was lost after the last step, before the final weights arrived'));
  }
  const surviving = s.survivors.map((x) => s.membership.get(x.id)!);
  const { roster, enough } = nextRoster(surviving, s.membership.waiting(), config.world, config.minWorkers);
  if (!enough) return waitForWorkers(s, roster.length, now);
  const needState = roster.filter((m) => !s.survivors.some((x) => x.id === m.id && x.completed === r.step));
  if (needState.length > 0 && !s.resumeState) {
    // The coordinator holds the state at its newest checkpoint (or the start) itself: only a newer one must come
    // from a survivor (and there is no 'state after step 0' to ask for: the protocol refuses step 0).
    if (r.source !== undefined && r.step > s.fallback.step) return requestState(s, r.source, 'awaitingState');
    s.resumeState = s.fallback;
  }
  startGeneration(s, roster, r.step, needState, now);
}

/** Asks survivor `id` for its state after the resume step (it has rolled back to exactly that). */
export function requestState(s: RunState, id: number, next: 'awaitingState' | 'stopping'): void {
  s.phase = next;
  s.stateSource = id;
  send(s, s.membership.get(id)!.peer, { t: 'checkpoint', v: PROTOCOL_VERSION, step: s.resume!.step });
  arm(s, 'state', s.settings.config.timeoutMs);
}

export function waitForWorkers(s: RunState, have: number, now: number): void {
  const { config } = s.settings;
  s.phase = 'waitingForWorkers';
  s.rejoinHave = have;
  if (s.rejoinDeadline === undefined) {
    // A run told to stop (a signal, a spawned worker's death in a fixed world) waits for nobody.
    s.rejoinDeadline = now + (s.stopRequested !== undefined ? 0 : config.rejoinTimeoutMs);
    log(s, 'warn', `${have} worker${have === 1 ? '' : 's'} left, fewer than --min-workers ${config.minWorkers}: waiting up to ${config.rejoinTimeoutMs / 1000} s (--rejoin-timeout) for workers to join`, { workers: have, minWorkers: config.minWorkers });
  }
  arm(s, 'rejoin', s.rejoinDeadline - now);
}

/** A ready worker not in the roster joins once the steps already shipped are done. */
export function maybeScheduleJoin(s: RunState, now: number): void {
  const { config } = s.settings;
  if (s.phase !== 'training' || s.joinAt !== undefined) return;
  const waiting = s.membership.waiting();
  if (waiting.length === 0 || s.membership.roster().length >= config.world) return;
  const boundary = s.nextShipped - 1;
  // The run ends before a new generation could form: let it.
  if (boundary >= config.steps) return;
  s.joinAt = boundary;
  s.troubleAt = now;
  log(s, 'info', `admitting ${waiting.map(describe).join(', ')} after step ${boundary}`, { step: boundary, workers: waiting.map((m) => m.id) });
  if (s.lastCompleted >= boundary) beginAbort(s, now);
}

/**
 * --allreduce shm or auto: the segment generation `gen` all-reduces through when
 * every rank is on one host and can map shared memory (a fresh name per
 * generation); undefined otherwise, and the generation uses its links. Logged
 * either way, and kept for summary.json.
 */
function sharedMemoryFor(s: RunState, roster: Member[], gen: number): string | undefined {
  const { allreduce, compression } = s.settings.config;
  if ((allreduce !== 'shm' && allreduce !== 'auto') || roster.length < 2) return undefined;
  const refusal = sharedMemoryRefusal(roster.map((m) => m.hello));
  const name = refusal === undefined ? segmentName(s.settings.segmentToken ?? '0', gen) : undefined;
  s.sharedMemory = name !== undefined;
  const wire = compression && compression !== 'none' ? ` (float32: --compression ${compression} applies to the links only)` : '';
  log(s, 'info', `generation ${gen} all-reduce: ${name ? `shared memory ${name}${wire}, all ${roster.length} ranks on one host` : `over the links, not shared memory: ${refusal}`}`, { gen, sharedMemory: name ?? false });
  return name;
}

/** Starts generation gen+1 with this roster after `step`; `needState` get the state in their start message. */
export function startGeneration(s: RunState, roster: Member[], step: number, needState: Member[], now: number): void {
  const previous = new Set(s.membership.roster().map((m) => m.id));
  s.gen++;
  const gen = s.gen;
  s.membership.form(roster);
  const world = roster.length;
  s.tracker = newTracker(s, world, step);
  s.star = new StarReducer(world, wireCodec(s.settings.config.compression ?? 'none'));
  for (const m of roster) s.liveness.track(m.id, now);
  const { endpoints: ring, kinds } = ringEndpoints(roster.map((m) => m.hello));
  if (s.settings.config.allreduce !== 'star' && world > 1) log(s, 'info', `generation ${gen} ring links: ${describeLinks(kinds)}`, { gen, links: kinds });
  const ringKeys = s.settings.curve ? { ringKeys: roster.map((m) => m.hello.curvePublicKey ?? '') } : {};
  const sharedMemory = sharedMemoryFor(s, roster, gen);
  let bytes = 0;
  for (const m of roster) {
    const r = needState.includes(m) ? s.resumeState! : undefined;
    if (r) bytes += stateBytes(r);
    send(s, m.peer, {
      t: 'start', v: PROTOCOL_VERSION, gen, rank: m.rank!, world, ring, step, ...ringKeys, ...(sharedMemory ? { sharedMemory } : {}),
      ...(r ? { generator: r.generator, discriminator: r.discriminator } : {}),
      ...(r?.optimizer ? { generatorOptimizer: r.optimizer.generator, discriminatorOptimizer: r.optimizer.discriminator } : {}),
    });
  }
  notify(s, 'workersConnected', world);
  if (gen > 1) {
    const change: MembershipChange = {
      generation: gen, step, workers: world, workerIds: roster.map((m) => m.id),
      lost: s.lostSinceLastGeneration,
      joined: roster.filter((m) => !previous.has(m.id)).map((m) => ({ id: m.id, host: m.hello.host, pid: m.hello.pid })),
      stepsLost: s.pendingStepsLost, stateBytes: bytes, pauseMs: now - (s.troubleAt ?? now),
    };
    s.changes.push(change);
    s.recovering = { change, since: s.troubleAt ?? now };
    notify(s, 'membershipChanged', change);
    log(s, 'info', `generation ${gen}: ${world} worker${world === 1 ? '' : 's'} (${roster.map(describe).join(', ')}), continuing after step ${step}; ${bytes} bytes of state sent to ${needState.length} worker${needState.length === 1 ? '' : 's'}`, {
      gen, step, workers: world, lost: change.lost.map((l) => l.id), joined: change.joined.map((j) => j.id), stateBytes: bytes, pauseMs: change.pauseMs,
    });
  } else {
    log(s, 'info', `generation 1: ${world} workers, starting after step ${step}`, { gen, step, workers: world });
  }
  s.phase = 'training';
  s.lostSinceLastGeneration = [];
  s.troubleAt = undefined;
  s.rejoinDeadline = undefined;
  s.joinAt = undefined;
  s.resumeState = undefined;
  s.survivors = [];
  s.pendingStepsLost = 0;
  s.nextShipped = step + 1;
  if (s.stopAfter !== undefined && step >= s.stopAfter) {
    // Stopping on a signal, and the step to stop after is already done: the new rank 0 sends its state for the final checkpoint.
    s.stopAfter = step;
    askRank0(s, step);
  }
  shipAhead(s);
  rearmStep(s);
  maybeScheduleJoin(s, now);
}
