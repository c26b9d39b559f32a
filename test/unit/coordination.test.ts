import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Membership } from '../../src/coordinator/membership.js';
import { StepTracker, checkReplicaHashes } from '../../src/coordinator/stepTracker.js';
import { ReplicaMismatchError } from '../../src/shared/errors.js';
import { PROTOCOL_VERSION, type Hello, type StepDone } from '../../src/shared/protocol.js';

const hello = (port: number): Hello => ({ t: 'hello', v: PROTOCOL_VERSION, backend: 'wasm', host: 'h', pid: 1, dataEndpoint: `tcp://10.0.0.1:${port}` });
const H = (c: string): string => c.repeat(64);

test('membership hands out ranks in arrival order, refuses extras and bad hashes', () => {
  const m = new Membership(2);
  assert.deepEqual(m.hello('a', hello(1)), { kind: 'accepted', rank: 0 });
  assert.equal(m.hello('a', hello(1)).kind, 'rejected');
  assert.deepEqual(m.hello('b', hello(2)), { kind: 'accepted', rank: 1 });
  const full = m.hello('c', hello(3));
  assert.ok(full.kind === 'rejected' && /already has its 2 workers/.test(full.reason));
  assert.equal(m.complete, false);
  const bad = m.ready('a', H('1'), H('2'));
  assert.ok(!bad.ok && /differs from the coordinator's/.test(bad.reason));
  assert.deepEqual(m.notReady(), [0, 1]);
  assert.ok(m.ready('a', H('2'), H('2')).ok);
  assert.ok(m.ready('b', H('2'), H('2')).ok);
  assert.equal(m.complete, true);
  assert.deepEqual(m.ring(), ['tcp://10.0.0.1:1', 'tcp://10.0.0.1:2']);
  const odd = new Membership(1).hello('x', { ...hello(1), dataEndpoint: 'ipc:///tmp/x' });
  assert.equal(odd.kind, 'rejected');
  // Under CURVE a worker must name its ring key, or its predecessor could not reach it.
  const curve = new Membership(1, { requireRingKey: true });
  assert.deepEqual(curve.hello('k', hello(1)), { kind: 'rejected', reason: 'this run uses CURVE, and the worker sent no ring key' });
  assert.deepEqual(curve.hello('k', { ...hello(1), curvePublicKey: 'x'.repeat(40) }), { kind: 'accepted', rank: 0 });
});

const done = (step: number, dLoss: number, hash?: string): StepDone => ({
  t: 'stepDone', v: PROTOCOL_VERSION, step, dLoss, gLoss: 2 * dLoss, dReal: 0.5, dFake: 0.5, computeMs: step, reduceMs: dLoss, applyMs: 1, dataWaitMs: 0, peerWaitMs: dLoss / 2, ...(hash ? { hash } : {}),
});

test('a step completes when every rank reported, with mean losses', () => {
  const t = new StepTracker(3);
  assert.equal(t.report(2, done(1, 3)), undefined);
  assert.equal(t.report(0, done(1, 1)), undefined);
  assert.deepEqual(t.missing(1), [1]);
  const c = t.report(1, done(1, 2));
  assert.ok(c);
  assert.equal(c.dLoss, 2);
  assert.equal(c.gLoss, 4);
  assert.equal(c.maxReduceMs, 3);
  assert.equal(c.hash, undefined);
  assert.throws(() => { t.report(0, done(2, 1)); t.report(0, done(2, 1)); }, /reported step 2 twice/);
});

test('diverged replicas stop the run and the odd ranks are named', () => {
  assert.equal(checkReplicaHashes(5, [H('a'), H('a'), H('a')]), H('a'));
  assert.throws(() => checkReplicaHashes(50, [H('a'), H('b'), H('a')]), (e: unknown) => e instanceof ReplicaMismatchError && e.message === 'replicas diverged at step 50: rank 1 differs from rank 0' && e.ranks[0] === 1);
  assert.throws(() => checkReplicaHashes(50, [H('a'), H('b'), H('b'), H('c')]), /ranks 0, 3 differ from rank 1/);
  assert.throws(() => checkReplicaHashes(50, [H('a'), undefined]), /rank 1 differs/);
  const t = new StepTracker(2);
  t.report(0, done(50, 1, H('a')));
  assert.throws(() => t.report(1, done(50, 1, H('b'))), ReplicaMismatchError);
});
