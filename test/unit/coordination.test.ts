import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Membership } from '../../src/coordinator/membership.js';
import { nextRoster, resumePoint } from '../../src/coordinator/reformPlan.js';
import { AbortRound } from '../../src/coordinator/abortRound.js';
import { StepTracker, checkReplicaHashes, stepReportRefusal } from '../../src/coordinator/stepTracker.js';
import { ReplicaMismatchError } from '../../src/shared/errors.js';
import { PROTOCOL_VERSION, type Hello, type StepDone } from '../../src/shared/protocol.js';

const hello = (port: number): Hello => ({ t: 'hello', v: PROTOCOL_VERSION, backend: 'wasm', host: 'h', pid: 1, dataEndpoint: `tcp://10.0.0.1:${port}` });
const H = (c: string): string => c.repeat(64);

test('membership hands out ids in arrival order, refuses extras and bad hashes', () => {
  const m = new Membership(2);
  const a = m.hello('a', hello(1), 's');
  assert.ok(a.kind === 'accepted' && a.member.id === 0);
  assert.equal(m.hello('a', hello(1), 's').kind, 'rejected');
  const b = m.hello('b', hello(2), 's');
  assert.ok(b.kind === 'accepted' && b.member.id === 1);
  const full = m.hello('c', hello(3), 's');
  assert.ok(full.kind === 'rejected' && /already has its 2 workers/.test(full.reason));
  assert.equal(m.readyCount, 0);
  const bad = m.ready('a', H('1'), H('2'));
  assert.ok(!bad.ok && /differs from the coordinator's/.test(bad.reason));
  assert.ok(m.ready('a', H('2'), H('2')).ok);
  assert.ok(m.ready('b', H('2'), H('2')).ok);
  assert.equal(m.readyCount, 2);
  assert.deepEqual(m.waiting().map((x) => x.id), [0, 1]);
  m.form(m.waiting());
  assert.deepEqual(m.roster().map((x) => [x.id, x.rank]), [[0, 0], [1, 1]]);
  assert.deepEqual(m.waiting(), []);
  const odd = new Membership(1).hello('x', { ...hello(1), dataEndpoint: 'ipc:///tmp/x' }, 's');
  assert.equal(odd.kind, 'rejected');
  // Under CURVE a worker must name its ring key, or its predecessor could not reach it.
  const curve = new Membership(1, { requireRingKey: true });
  assert.deepEqual(curve.hello('k', hello(1), 's'), { kind: 'rejected', reason: 'this run uses CURVE, and the worker sent no ring key' });
  assert.equal(curve.hello('k', { ...hello(1), curvePublicKey: 'x'.repeat(40) }, 's').kind, 'accepted');
});

test('a lost worker frees its place for a newcomer, who gets a fresh id and waits to be admitted', () => {
  const m = new Membership(3);
  for (const p of ['a', 'b', 'c']) {
    m.hello(p, hello(p.charCodeAt(0)), 's');
    m.ready(p, H('1'), H('1'));
  }
  m.form(m.waiting());
  assert.equal(m.remove(1)?.peer, 'b');
  assert.equal(m.remove(1), undefined);
  assert.deepEqual(m.roster().map((x) => x.id), [0, 2], 'the lost worker leaves the roster');
  assert.equal(m.byPeerId('b'), undefined);
  const d = m.hello('d', hello(9), 's');
  assert.ok(d.kind === 'accepted' && d.member.id === 3, 'ids are never reused');
  assert.deepEqual(m.waiting(), [], 'not ready yet');
  m.ready('d', H('1'), H('1'));
  assert.deepEqual(m.waiting().map((x) => x.id), [3]);
  const { roster, enough } = nextRoster(m.roster(), m.waiting(), m.capacity, 3);
  assert.ok(enough);
  m.form(roster);
  assert.deepEqual(m.roster().map((x) => [x.id, x.rank]), [[0, 0], [2, 1], [3, 2]]);
});

test('after a loss training resumes from the most advanced survivor; those behind and joiners get its state', () => {
  assert.deepEqual(resumePoint([{ id: 0, completed: 7 }, { id: 2, completed: 8 }, { id: 3, completed: 8 }], 5), { step: 8, source: 2, behind: [0] });
  assert.deepEqual(resumePoint([{ id: 0, completed: 7 }, { id: 1, completed: 7 }], 5), { step: 7, source: 0, behind: [] });
  // Nobody left who holds a state: back to the last checkpoint.
  assert.deepEqual(resumePoint([], 5), { step: 5, source: undefined, behind: [] });
  assert.deepEqual(nextRoster(['s0', 's1'], ['j0', 'j1'], 3, 2), { roster: ['s0', 's1', 'j0'], enough: true });
  assert.deepEqual(nextRoster(['s0'], [], 3, 2), { roster: ['s0'], enough: false });
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
  assert.throws(() => { t.report(0, done(2, 1)); t.report(0, done(2, 1)); }, /duplicate step report from rank 0 for step 2/);
  assert.throws(() => t.report(3, done(2, 1)), /step report from rank 3 outside world of 3/);
  // Neither refused report counted: step 2 completes with ranks 1 and 2, not before.
  assert.equal(t.report(1, done(2, 1)), undefined);
  assert.equal(t.report(2, done(2, 1))?.step, 2);
});

test('a step a lost rank never reported completes from the survivors\' reports', () => {
  const t = new StepTracker(3);
  t.report(0, done(4, 1, H('a')));
  t.report(2, { ...done(4, 3, H('a')), computeMs: 9 });
  const c = t.flush(4);
  assert.ok(c);
  assert.equal(c.dLoss, 2);
  assert.equal(c.hash, H('a'));
  assert.equal(c.slowestRank, 2, 'ranks keep their numbers');
  assert.equal(t.flush(4), undefined, 'flushed once');
  assert.equal(t.flush(5), undefined, 'nobody reported step 5');
  t.report(0, done(6, 1, H('a')));
  t.report(1, done(6, 1, H('b')));
  assert.throws(() => t.flush(6), ReplicaMismatchError, 'survivors must still agree');
});

test('after a loss, a mismatch among the survivors names rank numbers, not positions among the reporters, and is counted', () => {
  let mismatches = 0;
  const t = new StepTracker(3, () => mismatches++);
  // Rank 1 was lost; ranks 0 and 2 reported step 7 with different hashes: rank 2 differs from rank 0.
  t.report(0, done(7, 1, H('a')));
  t.report(2, done(7, 1, H('b')));
  assert.throws(() => t.flush(7), (e: unknown) => e instanceof ReplicaMismatchError && e.message === 'replicas diverged at step 7: rank 2 differs from rank 0' && e.ranks.length === 1 && e.ranks[0] === 2);
  assert.equal(mismatches, 1, 'the flush path counts the mismatch');
  // Rank 0 lost; ranks 1 and 2 disagree on skipping: rank 2 is named against rank 1.
  t.report(1, { ...done(8, 1, H('a')), skipped: ['g'] });
  t.report(2, done(8, 1, H('a')));
  assert.throws(() => t.flush(8), (e: unknown) => e instanceof ReplicaMismatchError && e.message === 'replicas disagree on skipping step 8: rank 1 skipped [g], rank 2 did not' && e.ranks[0] === 2);
  assert.equal(mismatches, 2);
  // The report path counts too.
  t.report(0, done(9, 1, H('a')));
  t.report(1, done(9, 1, H('a')));
  assert.throws(() => t.report(2, done(9, 1, H('c'))), (e: unknown) => e instanceof ReplicaMismatchError && e.ranks[0] === 2);
  assert.equal(mismatches, 3);
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

test('an abort round waits for every live member of the roster, and only for answers of its generation', () => {
  const round = new AbortRound(3, [4, 1, 7]);
  assert.equal(round.answer(1, 2, 10), false, 'another generation');
  assert.equal(round.answer(9, 3, 10), false, 'not in the roster');
  assert.equal(round.answer(1, 3, 10), true);
  assert.equal(round.answer(1, 3, 11), false, 'a repeat');
  assert.deepEqual(round.silent(), [4, 7]);
  assert.equal(round.complete, false);
  round.forget(7); // lost before answering
  assert.equal(round.answer(4, 3, 11), true);
  assert.equal(round.complete, true);
  assert.deepEqual(round.survivors(), [{ id: 4, completed: 11 }, { id: 1, completed: 10 }], 'in the old rank order');
});

test('workers that ask for a rank are admitted in that order, ahead of those that do not', () => {
  const m = new Membership(4);
  // Arrival order: no preference, rank 2, rank 0, rank 1.
  const asks = [undefined, 2, 0, 1];
  asks.forEach((rank, i) => {
    const p = `p${i}`;
    m.hello(p, { ...hello(i + 1), ...(rank === undefined ? {} : { rank }) }, 's');
    m.ready(p, H('1'), H('1'));
  });
  assert.deepEqual(m.waiting().map((x) => x.hello.rank), [0, 1, 2, undefined]);
  m.form(m.waiting());
  assert.deepEqual(m.roster().map((x) => [x.id, x.rank]), [[2, 0], [3, 1], [1, 2], [0, 3]], 'ids stay in arrival order; ranks follow the asks');
});

test('a step report is genuine for any step shipped and not yet complete: with --prefetch 4, up to 4 steps ahead', () => {
  // Step 10 is complete and batches went out through step 14 (--prefetch 4). A rank may have finished any of
  // steps 11-14 (the all-reduce keeps ranks within a step of each other, but rank 0's reports can queue behind
  // its weights), so the coordinator can see any of them first.
  for (const step of [11, 12, 13, 14]) assert.equal(stepReportRefusal(step, 10, 14), undefined, `step ${step}`);
  assert.match(stepReportRefusal(15, 10, 14) ?? '', /step 15, which was never shipped \(batches went out through step 14\)/);
  assert.match(stepReportRefusal(10, 10, 14) ?? '', /step 10, which is already complete/);
  assert.match(stepReportRefusal(3, 10, 14) ?? '', /step 3, which is already complete/);
  // The default --prefetch 2.
  assert.equal(stepReportRefusal(12, 10, 12), undefined);
  assert.match(stepReportRefusal(13, 10, 12) ?? '', /never shipped/);
});
