import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedInbox } from '../../src/shared/keyedInbox.js';
import { Mailbox } from '../../src/shared/mailbox.js';

const timeout = (what: string) => (): Error => new Error(`${what} timed out`);

test('mailbox: FIFO, one taker at a time, a deadline on every wait, close fails the pending and later takes', async () => {
  const box = new Mailbox<number>();
  box.push(1);
  box.push(2);
  assert.equal(box.size, 2);
  assert.equal(await box.take(1000, timeout('take')), 1);
  assert.equal(await box.take(1000, timeout('take')), 2);
  const waiting = box.take(1000, timeout('take'));
  await assert.rejects(box.take(1000, timeout('take')), /a take is already pending/);
  box.push(3);
  assert.equal(await waiting, 3);
  await assert.rejects(box.take(10, timeout('empty take')), /empty take timed out/);
  // After a timeout the next push goes to the next take, not into the void.
  box.push(4);
  assert.equal(await box.take(1000, timeout('take')), 4);
  const pending = box.take(1000, timeout('take'));
  box.close(new Error('closed'));
  await assert.rejects(pending, /closed/);
  await assert.rejects(box.take(1000, timeout('take')), /closed/);
  box.push(5);
  assert.equal(box.size, 0, 'nothing is kept after close');
});

test('keyed inbox: parks by key, refuses duplicates, weighs what is parked, fails waits selectively or all on close', async () => {
  const inbox = new KeyedInbox<string, Float32Array>((v) => v.byteLength);
  assert.equal(inbox.put('a', new Float32Array(2)), true);
  assert.equal(inbox.put('a', new Float32Array(2)), false, 'a duplicate');
  assert.equal(inbox.put('b', new Float32Array(3)), true);
  assert.equal(inbox.weight(), 20);
  assert.equal(inbox.weight((k) => k === 'b'), 12);
  assert.equal((await inbox.take('a', 1000, timeout('a'))).length, 2);
  assert.equal(inbox.weight(), 12);
  // A value handed straight to a waiter is never parked.
  const c = inbox.take('c', 1000, timeout('c'));
  await assert.rejects(inbox.take('c', 1000, timeout('c')), /already waiting for c/);
  assert.equal(inbox.put('c', new Float32Array(5)), true);
  assert.equal((await c).length, 5);
  assert.equal(inbox.weight(), 12);
  await assert.rejects(inbox.take('d', 10, timeout('d')), /d timed out/);
  const e = inbox.take('e', 1000, timeout('e'));
  const f = inbox.take('f', 1000, timeout('f'));
  inbox.rejectWaiting((k) => k === 'e', new Error('e abandoned'));
  await assert.rejects(e, /e abandoned/);
  inbox.prune((k) => k === 'b');
  assert.equal(inbox.weight(), 0);
  assert.equal(inbox.size, 0);
  inbox.put('g', new Float32Array(1));
  inbox.close(new Error('closed'));
  await assert.rejects(f, /closed/);
  await assert.rejects(inbox.take('g', 1000, timeout('g')), /closed/, 'parked values go with close');
  assert.equal(inbox.put('h', new Float32Array(1)), false);
  assert.equal(inbox.weight(), 0);
});
