import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decide } from '../../src/coordinator/decide.js';
import { LOCAL_GRANT_STEPS } from '../../src/coordinator/stepFlow.js';
import { type Effect, type ReplicaState, type RunEvent, type RunState, initialRunState } from '../../src/coordinator/runState.js';
import type { TrainConfig } from '../../src/shared/config.js';
import type { TrainerError } from '../../src/shared/errors.js';
import { TimeoutError } from '../../src/shared/errors.js';
import { PROTOCOL_VERSION, type CoordinatorMessage, type StepDone } from '../../src/shared/protocol.js';
import { trainConfig } from '../fixtures/trainConfig.js';

// The coordinator's decisions driven by event sequences, without sockets, timers or processes.

const HASH = 'a'.repeat(64);
const f32 = (n: number, v = 0): Float32Array => new Float32Array(n).fill(v);
const weightsState = (step: number, withOptimizer: boolean): ReplicaState => ({
  step, generator: f32(4, step), discriminator: f32(3, step),
  ...(withOptimizer ? { optimizer: { generator: f32(8, step), discriminator: f32(6, step) } } : {}),
});

/** One run's decisions: feeds events with a hand-moved clock and keeps the effects of the last one. */
class Run {
  s: RunState;
  fx: Effect[] = [];
  now = 1000;
  constructor(config: Partial<TrainConfig>, initial: ReplicaState = weightsState(0, false)) {
    this.s = initialRunState({
      config: trainConfig({ steps: 20, timeoutMs: 5000, rejoinTimeoutMs: 30_000, ...config }), expectedHash: HASH, prefetch: 2, maxBadSteps: 1,
      registerTimeoutMs: 60_000, out: '/runs/x', curve: false, initial,
    });
    this.ev({ t: 'begin' });
  }

  ev(e: DistributiveOmit<RunEvent, 'now'>): Effect[] {
    const r = decide(this.s, { ...e, now: this.now } as RunEvent);
    this.s = r.state;
    this.fx = r.effects;
    return r.effects;
  }

  /** Worker `i` (peer `p<i>`, asking for rank i) says hello and is ready. */
  join(i: number): Effect[] {
    this.ev({ t: 'hello', peer: `p${i}`, session: String(i).padStart(32, '0'), msg: { t: 'hello', v: PROTOCOL_VERSION, backend: 'cpu', host: `h${i}`, pid: 100 + i, dataEndpoint: `tcp://h${i}:6000`, rank: i } });
    return this.ev({ t: 'message', peer: `p${i}`, msg: { t: 'ready', v: PROTOCOL_VERSION, modelHash: HASH } });
  }

  /** Every peer in `peers` reports `step`. */
  report(step: number, peers: string[], extra: Partial<StepDone> = {}): void {
    for (const peer of peers) {
      this.ev({ t: 'message', peer, msg: { t: 'stepDone', v: PROTOCOL_VERSION, step, dLoss: 1, gLoss: 2, dReal: 0.5, dFake: 0.5, computeMs: 1, reduceMs: 1, applyMs: 1, dataWaitMs: 0, peerWaitMs: 0, hash: HASH, ...extra } });
    }
  }

  answer(peer: string, completed: number): Effect[] {
    return this.ev({ t: 'message', peer, msg: { t: 'aborted', v: PROTOCOL_VERSION, gen: this.s.gen, completed } });
  }

  weights(peer: string, step: number, withOptimizer = true): Effect[] {
    const w = weightsState(step, withOptimizer);
    return this.ev({ t: 'message', peer, msg: { t: 'weights', v: PROTOCOL_VERSION, step, generator: w.generator, discriminator: w.discriminator, ...(w.optimizer ? { generatorOptimizer: w.optimizer.generator, discriminatorOptimizer: w.optimizer.discriminator } : {}) } });
  }

  /** Starts a run with workers 0..n-1. */
  static training(n: number, config: Partial<TrainConfig> = {}, initial?: ReplicaState): Run {
    const run = new Run({ world: n, ...config }, initial);
    for (let i = 0; i < n; i++) run.join(i);
    assert.equal(run.s.phase, 'training');
    return run;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The messages of type `t` among the effects, with their peers. */
function sent<T extends CoordinatorMessage['t']>(fx: Effect[], t: T): Array<{ peer: string; msg: Extract<CoordinatorMessage, { t: T }>; bestEffort: boolean }> {
  return fx.flatMap((e) => (e.kind === 'send' && e.msg.t === t ? [{ peer: e.peer, msg: e.msg as Extract<CoordinatorMessage, { t: T }>, bestEffort: e.bestEffort === true }] : []));
}
/** The steps shipped, one entry per step (a go-ahead's range expanded). */
const shipped = (fx: Effect[]): number[] => fx.flatMap((e) => (e.kind === 'ship' ? Array.from({ length: e.through - e.step + 1 }, (_, i) => e.step + i) : []));
const shipments = (fx: Effect[]): Array<[number, number]> => fx.flatMap((e) => (e.kind === 'ship' ? [[e.step, e.through] as [number, number]] : []));
const failure = (fx: Effect[]): Error | undefined => fx.flatMap((e) => (e.kind === 'fail' ? [e.error] : []))[0];
const notified = (fx: Effect[], name: string): unknown[][] => fx.flatMap((e) => (e.kind === 'notify' && e.name === name ? [e.args as unknown[]] : []));
const armed = (fx: Effect[]): number[] => fx.flatMap((e) => (e.kind === 'arm' ? [e.ms] : []));
const logs = (fx: Effect[]): string[] => fx.flatMap((e) => (e.kind === 'log' ? [e.msg] : []));

test('registration: welcome each worker; the last ready one starts generation 1 from step 0 and ships --prefetch steps', () => {
  const run = new Run({ world: 2 });
  assert.deepEqual(armed(run.fx), [60_000]);
  run.ev({ t: 'hello', peer: 'p0', session: '0'.repeat(32), msg: { t: 'hello', v: PROTOCOL_VERSION, backend: 'cpu', host: 'h0', pid: 1, dataEndpoint: 'tcp://h0:6000', rank: 0 } });
  assert.equal(sent(run.fx, 'welcome')[0]?.peer, 'p0');
  run.ev({ t: 'message', peer: 'p0', msg: { t: 'ready', v: PROTOCOL_VERSION, modelHash: HASH } });
  assert.equal(run.s.phase, 'registering');
  const fx = run.join(1);
  assert.equal(run.s.phase, 'training');
  assert.deepEqual(fx.filter((e) => e.kind === 'trainingStarted').length, 1);
  assert.deepEqual(sent(fx, 'start').map((x) => [x.peer, x.msg.gen, x.msg.rank, x.msg.world, x.msg.step]), [['p0', 1, 0, 2, 0], ['p1', 1, 1, 2, 0]]);
  // The initial weights go to everyone (Adam starts from zero: no optimizer state).
  assert.ok(sent(fx, 'start').every((x) => x.msg.generator !== undefined && x.msg.generatorOptimizer === undefined));
  assert.deepEqual(shipped(fx), [1, 2]);
  assert.deepEqual(armed(fx), [5000]);
});

test('--data local: one go-ahead grants LOCAL_GRANT_STEPS steps, renewed once half are used; a join waits for the grant to end', () => {
  assert.equal(LOCAL_GRANT_STEPS, 8);
  // Batches would go out one step at a time (--prefetch 2); a go-ahead covers 8 steps in one message to each worker.
  const started = new Run({ world: 2, data: 'local', steps: 30 });
  started.join(0);
  assert.deepEqual(shipments(started.join(1)), [[1, 8]]);
  // An elastic run of 3 that lost one worker: generation 2 trains with two and has room for a joiner.
  const run = Run.training(3, { minWorkers: 2, data: 'local', steps: 30 });
  run.ev({ t: 'launchedExit', slot: 2, reason: 'gone' });
  run.answer('p0', 0);
  assert.deepEqual(shipments(run.answer('p1', 0)), [[1, 8]]);
  const renewals: Array<[number, Array<[number, number]>]> = [];
  for (let step = 1; step <= 9; step++) {
    run.report(step, ['p0', 'p1']);
    const fx = shipments(run.fx);
    if (fx.length > 0) renewals.push([step, fx]);
  }
  // Renewed when at most half the grant is left (after step 4: steps 5-8 granted), up to 8 ahead.
  assert.deepEqual(renewals, [[4, [[9, 12]]], [8, [[13, 16]]]]);
  // A joiner is admitted after the last granted step: nothing is granted past it.
  run.join(5);
  assert.equal(run.s.joinAt, 16);
  for (let step = 10; step <= 15; step++) run.report(step, ['p0', 'p1']);
  assert.equal(run.s.phase, 'training');
  run.report(16, ['p0', 'p1']);
  assert.equal(run.s.phase, 'aborting');
  // The last grant ends at the run's last step.
  const short = new Run({ world: 1, data: 'local', steps: 5 });
  assert.deepEqual(shipments(short.join(0)), [[1, 5]]);
  short.report(1, ['p0']);
  assert.deepEqual(shipped(short.fx), []);
});

test('the run shows the generator weight average rank 0 sends: samples, evaluations and the final weights are the average, checkpoints the last weights', () => {
  const run = Run.training(1, { steps: 2, sampleEvery: 1, evalEvery: 1 });
  const average = f32(4, 9);
  const weights = (step: number, withOptimizer: boolean): Effect[] => run.ev({ t: 'message', peer: 'p0', msg: {
    t: 'weights', v: PROTOCOL_VERSION, step, generator: f32(4, step), discriminator: f32(3, step), generatorAverage: average,
    ...(withOptimizer ? { generatorOptimizer: f32(8, step), discriminatorOptimizer: f32(6, step) } : {}),
  } });
  run.report(1, ['p0']);
  const mid = weights(1, false);
  assert.deepEqual(notified(mid, 'sampleWeights').map((a) => (a[1] as { generator: Float32Array }).generator), [average]);
  assert.deepEqual(notified(mid, 'evalWeights').map((a) => (a[1] as { generator: Float32Array }).generator), [average]);
  run.report(2, ['p0']);
  const end = weights(2, true);
  const checkpoint = end.find((e) => e.kind === 'checkpoint');
  assert.deepEqual(checkpoint?.kind === 'checkpoint' ? checkpoint.state.generator : undefined, f32(4, 2));
  assert.deepEqual(run.s.finalWeights?.generator, average);
});

test('registration: a wrong model hash fails the run; a lost worker is forgotten; the register deadline fails it', () => {
  const bad = new Run({ world: 2 });
  bad.ev({ t: 'hello', peer: 'p0', session: '0'.repeat(32), msg: { t: 'hello', v: PROTOCOL_VERSION, backend: 'cpu', host: 'h0', pid: 1, dataEndpoint: 'tcp://h0:6000' } });
  const fx = bad.ev({ t: 'message', peer: 'p0', msg: { t: 'ready', v: PROTOCOL_VERSION, modelHash: 'b'.repeat(64) } });
  assert.equal(sent(fx, 'reject').length, 1);
  assert.equal((failure(fx) as TrainerError).code, 'E_HANDSHAKE');

  const run = new Run({ world: 2 });
  run.join(0);
  const lost = run.ev({ t: 'launchedExit', slot: 0, reason: 'exited with 1' });
  assert.equal(run.s.phase, 'registering');
  assert.deepEqual(notified(lost, 'workerLost'), [[0]]);
  assert.deepEqual(notified(lost, 'workersConnected'), [[0]]);
  assert.equal(failure(lost), undefined);
  const late = run.ev({ t: 'deadline' });
  assert.ok(failure(late) instanceof TimeoutError);
  assert.match(failure(late)!.message, /only 0 of 2 workers registered/);
  // After the run failed, nothing more is decided.
  assert.deepEqual(run.join(1), []);
});

test('training: reports complete steps, ship ahead, and the final weights finish the run', () => {
  const run = Run.training(2, { steps: 3 });
  run.report(1, ['p0']);
  assert.deepEqual(shipped(run.fx), []);
  run.report(1, ['p1']);
  assert.deepEqual(shipped(run.fx), [3]);
  assert.equal(run.fx.filter((e) => e.kind === 'stepCompleted').length, 1);
  run.report(2, ['p0', 'p1']);
  run.report(3, ['p0', 'p1']);
  assert.ok(!run.fx.some((e) => e.kind === 'finish'), 'not before the final weights');
  // Only rank 0 of the roster sends weights; anyone else's are dropped.
  assert.ok(run.weights('p1', 3).some((e) => e.kind === 'drop'));
  const fx = run.weights('p0', 3);
  assert.ok(fx.some((e) => e.kind === 'checkpoint'));
  assert.ok(fx.some((e) => e.kind === 'finish'));
  assert.equal(run.s.over, true);
});

test('training: a report of a step never shipped fails the run; a stranger\'s message is dropped', () => {
  const run = Run.training(2);
  run.report(5, ['p0']);
  assert.equal((failure(run.fx) as TrainerError).code, 'E_PROTOCOL');
  const other = Run.training(2);
  const fx = other.ev({ t: 'message', peer: 'nobody', msg: { t: 'ready', v: PROTOCOL_VERSION, modelHash: HASH } });
  assert.deepEqual(fx.map((e) => e.kind), ['drop']);
});

test('training: a rank that skips a step in its reports fails the run, though the step after it is complete on every rank', () => {
  const run = Run.training(2);
  run.report(1, ['p0', 'p1']);
  assert.equal(run.s.lastCompleted, 1);
  run.report(2, ['p1']);
  run.report(3, ['p0']);
  const err = failure(run.fx) as TrainerError;
  assert.equal(err.code, 'E_PROTOCOL');
  assert.match(err.message, /rank 0 reported step 3 after its report of step 1/);
  // In order, a rank may run ahead of the others (within the prefetch window).
  const ok = Run.training(2);
  ok.report(1, ['p0']);
  ok.report(2, ['p0']);
  assert.equal(failure(ok.fx), undefined);
  ok.report(1, ['p1']);
  ok.report(2, ['p1']);
  assert.equal(ok.s.lastCompleted, 2);
});

test('a loss in training: the roster aborts, and the survivors form the next generation where they stand', () => {
  const run = Run.training(3, { minWorkers: 2 });
  run.report(1, ['p0', 'p1', 'p2']);
  run.now += 100;
  const fx = run.ev({ t: 'launchedExit', slot: 2, reason: 'exited with 137' });
  assert.equal(run.s.phase, 'aborting');
  assert.deepEqual(sent(fx, 'shutdown').map((x) => [x.peer, x.bestEffort]), [['p2', true]]);
  assert.deepEqual(sent(fx, 'abort').map((x) => x.peer), ['p0', 'p1']);
  assert.deepEqual(notified(fx, 'workerLost'), [[2]]);
  run.answer('p0', 1);
  assert.equal(run.s.phase, 'aborting');
  run.now += 50;
  const next = run.answer('p1', 1);
  assert.equal(run.s.phase, 'training');
  // Both hold the state after step 1: nobody is sent state, nobody is asked for it.
  assert.deepEqual(sent(next, 'checkpoint'), []);
  assert.deepEqual(sent(next, 'start').map((x) => [x.peer, x.msg.gen, x.msg.rank, x.msg.world, x.msg.step, x.msg.generator !== undefined]), [['p0', 2, 0, 2, 1, false], ['p1', 2, 1, 2, 1, false]]);
  assert.equal((notified(next, 'membershipChanged')[0]![0] as { pauseMs: number }).pauseMs, 50);
  // A late answer to the old generation is dropped.
  assert.deepEqual(run.ev({ t: 'message', peer: 'p0', msg: { t: 'aborted', v: PROTOCOL_VERSION, gen: 1, completed: 1 } }).map((e) => e.kind), ['drop']);
});

test('a loss in training: a survivor behind gets the state, asked of the one ahead (awaiting state)', () => {
  const run = Run.training(3, { minWorkers: 2 });
  run.report(1, ['p0', 'p1', 'p2']);
  run.report(2, ['p0']);
  run.ev({ t: 'launchedExit', slot: 2, reason: 'gone' });
  run.answer('p0', 2);
  const fx = run.answer('p1', 1);
  assert.equal(run.s.phase, 'awaitingState');
  assert.deepEqual(sent(fx, 'checkpoint').map((x) => [x.peer, x.msg.step]), [['p0', 2]]);
  // Step 2 was finished by the survivors (rank 2's report never came): it counts as complete.
  assert.equal(run.s.lastCompleted, 2);
  const started = run.weights('p0', 2);
  assert.equal(run.s.phase, 'training');
  const starts = sent(started, 'start');
  assert.deepEqual(starts.map((x) => [x.peer, x.msg.gen, x.msg.world, x.msg.step, x.msg.generator !== undefined]), [['p0', 2, 2, 2, false], ['p1', 2, 2, 2, true]]);
  const change = notified(started, 'membershipChanged')[0]![0] as { lost: Array<{ id: number }>; joined: unknown[] };
  assert.deepEqual(change.lost.map((l) => l.id), [2]);
  assert.deepEqual(change.joined, []);
  assert.deepEqual(shipped(started), [3, 4]);
});

test('a loss during an abort: not waited for; the others form the next generation', () => {
  const run = Run.training(3, { minWorkers: 1 });
  run.report(1, ['p0', 'p1', 'p2']);
  run.ev({ t: 'launchedExit', slot: 2, reason: 'gone' });
  run.answer('p0', 1);
  const fx = run.ev({ t: 'launchedExit', slot: 1, reason: 'gone too' });
  assert.equal(run.s.phase, 'training');
  assert.deepEqual(sent(fx, 'start').map((x) => [x.peer, x.msg.world, x.msg.step]), [['p0', 1, 1]]);
  const change = notified(fx, 'membershipChanged')[0]![0] as { lost: Array<{ id: number }> };
  assert.deepEqual(change.lost.map((l) => l.id), [2, 1]);
});

test('the abort deadline: a member that does not answer is lost', () => {
  const run = Run.training(3, { minWorkers: 1 });
  run.ev({ t: 'launchedExit', slot: 2, reason: 'gone' });
  run.answer('p0', 0);
  const fx = run.ev({ t: 'deadline' });
  assert.ok(logs(fx).some((m) => /worker 1 .*lost: did not answer the abort of generation 1/.test(m)));
  assert.equal(run.s.phase, 'training');
  assert.equal(run.s.membership.roster().length, 1);
});

test('a loss while awaiting state: the next survivor ahead is asked instead; when none is left, training goes on from the one behind', () => {
  const run = Run.training(4, { minWorkers: 1 });
  run.report(1, ['p0', 'p1', 'p2', 'p3']);
  run.report(2, ['p0', 'p1']);
  run.ev({ t: 'launchedExit', slot: 3, reason: 'gone' });
  run.answer('p0', 2);
  run.answer('p1', 2);
  run.answer('p2', 1);
  assert.equal(run.s.phase, 'awaitingState');
  assert.equal(run.s.stateSource, 0);
  const fx = run.ev({ t: 'launchedExit', slot: 0, reason: 'gone while sending' });
  assert.equal(run.s.phase, 'awaitingState');
  assert.deepEqual(sent(fx, 'checkpoint').map((x) => [x.peer, x.msg.step]), [['p1', 2]]);
  // The state deadline: the source is lost like a dead one, and nobody is left ahead of the checkpoint.
  const late = run.ev({ t: 'deadline' });
  assert.ok(logs(late).some((m) => /worker 1 .*did not send its state/.test(m)));
  // Only p2 is left, a step behind: it trains alone from its own state after step 1, and step 2 is lost.
  assert.equal(run.s.phase, 'training');
  assert.deepEqual(sent(late, 'start').map((x) => [x.peer, x.msg.step, x.msg.generator !== undefined]), [['p2', 1, false]]);
  assert.equal((notified(late, 'membershipChanged')[0]![0] as { stepsLost: number }).stepsLost, 1);
});

test('a join at a step boundary: shipping stops at the boundary, and the run re-forms once it is done', () => {
  const run = Run.training(3, { minWorkers: 2 });
  run.ev({ t: 'launchedExit', slot: 2, reason: 'gone' });
  run.answer('p0', 0);
  run.answer('p1', 0);
  assert.equal(run.s.gen, 2);
  run.report(1, ['p0', 'p1']); // ships step 3
  const fx = run.join(5);
  assert.ok(logs(fx).some((m) => m.startsWith('admitting worker 3 ')));
  assert.equal(run.s.joinAt, 3);
  run.report(2, ['p0', 'p1']);
  assert.deepEqual(shipped(run.fx), [], 'nothing past the boundary');
  assert.equal(run.s.phase, 'training');
  run.report(3, ['p0', 'p1']);
  assert.equal(run.s.phase, 'aborting');
  assert.deepEqual(sent(run.fx, 'abort').map((x) => x.peer), ['p0', 'p1']);
  run.answer('p0', 3);
  const started = run.answer('p1', 3);
  // The joiner needs state after step 3, which only the survivors hold.
  assert.equal(run.s.phase, 'awaitingState');
  assert.deepEqual(sent(started, 'checkpoint').map((x) => [x.peer, x.msg.step]), [['p0', 3]]);
  const gen3 = run.weights('p0', 3);
  assert.deepEqual(sent(gen3, 'start').map((x) => [x.peer, x.msg.gen, x.msg.rank, x.msg.world, x.msg.generator !== undefined]), [['p0', 3, 0, 3, false], ['p1', 3, 1, 3, false], ['p5', 3, 2, 3, true]]);
  assert.deepEqual((notified(gen3, 'membershipChanged')[0]![0] as { joined: Array<{ id: number }> }).joined.map((j) => j.id), [3]);
});

test('a hang at the step deadline: a fixed world fails naming the missing rank', () => {
  const run = Run.training(2);
  run.report(1, ['p0']);
  const fx = run.ev({ t: 'deadline' });
  assert.ok(failure(fx) instanceof TimeoutError);
  assert.match(failure(fx)!.message, /step 1 not completed within 5000 ms: no report from rank 1/);
});

test('a hang at the step deadline: an elastic run aborts; the stuck worker cannot answer and is lost', () => {
  const run = Run.training(2, { minWorkers: 1 });
  run.report(1, ['p0']);
  const fx = run.ev({ t: 'deadline' });
  assert.equal(failure(fx), undefined);
  assert.equal(run.s.phase, 'aborting');
  assert.deepEqual(sent(fx, 'abort').map((x) => x.peer), ['p0', 'p1']);
  run.answer('p0', 1);
  const next = run.ev({ t: 'deadline' });
  assert.ok(logs(next).some((m) => /worker 1 .*lost: did not answer the abort/.test(m)));
  assert.equal(run.s.phase, 'training');
  assert.deepEqual(sent(next, 'start').map((x) => [x.peer, x.msg.step]), [['p0', 1]]);
});

test('a hang at the step deadline: if every worker answers the abort, nobody is stuck and the run fails', () => {
  const run = Run.training(2, { minWorkers: 1 });
  run.report(1, ['p0']);
  run.ev({ t: 'deadline' });
  run.answer('p0', 1);
  const fx = run.answer('p1', 0);
  assert.ok(failure(fx) instanceof TimeoutError);
});

test('progress pushes the step deadline on; no progress leaves it', () => {
  const run = Run.training(2);
  assert.deepEqual(run.ev({ t: 'progressTick' }), []);
  run.report(1, ['p0', 'p1']);
  assert.deepEqual(armed(run.ev({ t: 'progressTick' })), [5000]);
});

test('the rejoin timeout: too few workers wait, then the survivors\' state becomes the final checkpoint', () => {
  const run = Run.training(2, { minWorkers: 2 });
  run.report(1, ['p0', 'p1']);
  run.ev({ t: 'launchedExit', slot: 1, reason: 'gone' });
  const fx = run.answer('p0', 1);
  assert.equal(run.s.phase, 'waitingForWorkers');
  assert.deepEqual(armed(fx), [30_000]);
  run.now += 10_000;
  // Another loss while waiting re-plans; the deadline stays where it was.
  assert.deepEqual(armed(run.ev({ t: 'heartbeatTick' })), []);
  const late = run.ev({ t: 'deadline' });
  assert.equal(run.s.phase, 'stopping');
  assert.deepEqual(sent(late, 'checkpoint').map((x) => [x.peer, x.msg.step]), [['p0', 1]]);
  const end = run.weights('p0', 1);
  assert.deepEqual(end.filter((e) => e.kind === 'checkpoint').map((e) => e.kind === 'checkpoint' && e.state.step), [1]);
  assert.equal((failure(end) as TrainerError).code, 'E_WORKERS_LOST');
  assert.match(failure(end)!.message, /only 1 worker left.*none joined within --rejoin-timeout 30 s.*checkpoint at step 1 written: resume with --resume \/runs\/x/);
});

test('the rejoin timeout: losing the survivor that holds the state while stopping fails naming the checkpoint', () => {
  const run = Run.training(2, { minWorkers: 2 });
  run.report(1, ['p0', 'p1']);
  run.ev({ t: 'launchedExit', slot: 1, reason: 'gone' });
  run.answer('p0', 1);
  run.ev({ t: 'deadline' });
  const fx = run.ev({ t: 'launchedExit', slot: 0, reason: 'gone' });
  assert.equal((failure(fx) as TrainerError).code, 'E_WORKERS_LOST');
  assert.match(failure(fx)!.message, /the newest checkpoint is at step 0$/);
});

test('waiting for workers: a joiner that is ready re-forms the run; a survivor lost while waiting re-plans', () => {
  const run = Run.training(3, { minWorkers: 2 });
  run.ev({ t: 'launchedExit', slot: 2, reason: 'gone' });
  run.ev({ t: 'launchedExit', slot: 1, reason: 'gone' });
  run.answer('p0', 0);
  assert.equal(run.s.phase, 'waitingForWorkers');
  const fx = run.join(7);
  assert.equal(run.s.phase, 'training');
  assert.deepEqual(sent(fx, 'start').map((x) => [x.peer, x.msg.rank, x.msg.world]), [['p0', 0, 2], ['p7', 1, 2]]);

  const alone = Run.training(3, { minWorkers: 2 });
  alone.ev({ t: 'launchedExit', slot: 2, reason: 'gone' });
  alone.ev({ t: 'launchedExit', slot: 1, reason: 'gone' });
  alone.answer('p0', 0);
  alone.ev({ t: 'launchedExit', slot: 0, reason: 'gone' });
  assert.equal(alone.s.phase, 'waitingForWorkers');
  assert.equal(alone.s.rejoinHave, 0);
  assert.equal(failure(alone.ev({ t: 'deadline' }))?.message.startsWith('only 0 workers left'), true);
});

test('silent workers are lost on the heartbeat tick; heartbeats go to each heartbeat connection', () => {
  const run = Run.training(2, { minWorkers: 1, workerTimeoutMs: 2000 });
  const session = run.s.membership.get(0)!.session;
  run.ev({ t: 'message', peer: 'hb0', msg: { t: 'heartbeat', v: PROTOCOL_VERSION, id: 0, session } });
  assert.deepEqual(run.ev({ t: 'message', peer: 'hb1', msg: { t: 'heartbeat', v: PROTOCOL_VERSION, id: 1, session } }).map((e) => e.kind), ['drop']);
  run.now += 1500;
  run.ev({ t: 'message', peer: 'hb0', msg: { t: 'heartbeat', v: PROTOCOL_VERSION, id: 0, session } });
  run.now += 1000;
  const fx = run.ev({ t: 'heartbeatTick' });
  assert.deepEqual(sent(fx, 'heartbeat').map((x) => x.peer), ['hb0']);
  assert.ok(logs(fx).some((m) => /worker 1 .*lost: silent for 2\.5 s/.test(m)));
  assert.equal(run.s.phase, 'aborting');
});

test('a stop mid-step: shipping stops, rank 0 is asked for its state after the last shipped step, which ends the run', () => {
  const run = Run.training(2);
  run.report(1, ['p0', 'p1']); // shipped through 3
  const fx = run.ev({ t: 'stop', reason: 'received SIGINT' });
  assert.equal(run.s.stopAfter, 3);
  assert.deepEqual(sent(fx, 'checkpoint').map((x) => [x.peer, x.msg.step]), [['p0', 3]]);
  run.report(2, ['p0', 'p1']);
  assert.deepEqual(shipped(run.fx), []);
  run.report(3, ['p0', 'p1']);
  const end = run.weights('p0', 3);
  assert.ok(end.some((e) => e.kind === 'checkpoint'));
  assert.equal((failure(end) as TrainerError).code, 'E_ABORTED');
  assert.equal(failure(end)!.message, 'received SIGINT: stopped after step 3; resume with --resume /runs/x');
});

test('a stop outside training stops at once; during a membership change it names the newest checkpoint', () => {
  const early = new Run({ world: 2 });
  assert.equal(failure(early.ev({ t: 'stop', reason: 'received SIGTERM' }))?.message, 'received SIGTERM');
  const run = Run.training(3, { minWorkers: 2 });
  run.ev({ t: 'launchedExit', slot: 2, reason: 'gone' });
  assert.equal(failure(run.ev({ t: 'stop', reason: 'received SIGTERM' }))?.message, 'received SIGTERM; the newest checkpoint is at step 0');
});

test('a stop before a rejoin wait: the run waits for nobody', () => {
  const run = Run.training(2, { minWorkers: 2 });
  run.report(1, ['p0', 'p1']);
  run.report(2, ['p0', 'p1']);
  run.report(3, ['p0', 'p1']);
  run.ev({ t: 'stop', reason: 'received SIGINT' });
  run.ev({ t: 'launchedExit', slot: 1, reason: 'gone' });
  assert.deepEqual(armed(run.answer('p0', 3)), [0]);
});

test('a resume: generation 1 starts after the checkpoint\'s step with its weights and optimizer state, and ships from the next step', () => {
  const run = new Run({ world: 2, steps: 10 }, weightsState(6, true));
  run.join(0);
  const fx = run.join(1);
  const starts = sent(fx, 'start');
  assert.deepEqual(starts.map((x) => [x.msg.step, x.msg.generatorOptimizer?.length]), [[6, 8], [6, 8]]);
  assert.deepEqual(shipped(fx), [7, 8]);
  run.report(6, ['p0']);
  assert.equal((failure(run.fx) as TrainerError).code, 'E_PROTOCOL', 'step 6 is already complete');
});

test('too many steps with non-finite gradients fail the run', () => {
  const run = Run.training(2);
  run.report(1, ['p0', 'p1'], { skipped: ['d'] });
  assert.deepEqual(notified(run.fx, 'badStep'), [[1]]);
  assert.equal(failure(run.fx), undefined);
  run.report(2, ['p0', 'p1'], { skipped: ['g'] });
  assert.equal((failure(run.fx) as TrainerError).code, 'E_BAD_STEPS');
});

/** Every module `entry` loads, following relative imports (static and dynamic) through the built JS; bare names are recorded, not followed. */
function importGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
      else seen.add(spec);
    }
  };
  visit(entry);
  return seen;
}

test('the decision module holds no I/O: nothing it loads reaches ZeroMQ, files, sockets, processes or timers\' modules', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const io = ['zeromq', 'node:fs', 'fs', 'node:fs/promises', 'node:net', 'node:http', 'node:child_process', 'node:worker_threads', 'node:timers', 'node:dgram'];
  // The walker sees I/O where there is some: the shell reaches ZeroMQ and node:fs.
  const shell = importGraph(path.resolve(here, '../../src/coordinator/coordinator.js'));
  assert.ok(shell.has('zeromq') && shell.has('node:fs'));
  const decisions = importGraph(path.resolve(here, '../../src/coordinator/decide.js'));
  assert.ok(decisions.size > 5, 'the graph was followed');
  assert.deepEqual([...decisions].filter((m) => io.includes(m)), []);
  // Code only: a comment may speak of performance.now().
  const sources = [...decisions].filter((m) => m.endsWith('.js')).map((f) => readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')).join('\n');
  assert.doesNotMatch(sources, /\b(setTimeout|setInterval|performance\.now|Date\.now)\s*\(/);
});
