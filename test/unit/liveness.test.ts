import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Liveness } from '../../src/coordinator/liveness.js';

test('liveness names the workers silent for longer than the timeout, longest first', () => {
  const l = new Liveness(1000);
  for (const id of [0, 1, 2]) l.track(id, 0);
  assert.deepEqual(l.silent(1000), [], 'exactly the timeout is not yet too long');
  l.seen(0, 900);
  l.seen(2, 400);
  assert.deepEqual(l.silent(1500), [{ id: 1, ms: 1500 }, { id: 2, ms: 1100 }]);
  l.seen(1, 1500);
  l.seen(2, 300); // late, out-of-order news never moves a worker back in time
  assert.deepEqual(l.silent(1500), [{ id: 2, ms: 1100 }]);
  l.seen(7, 2000); // not watched: ignored
  assert.deepEqual(l.silent(2000).map((s) => s.id), [2, 0]);
  l.forget(2);
  assert.deepEqual(l.silent(2000).map((s) => s.id), [0], 'a lost worker is no longer watched');
  l.track(0, 2000); // a new generation: a fresh start
  assert.deepEqual(l.silent(2500), []);
});
