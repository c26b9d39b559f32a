import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Liveness } from '../../src/coordinator/liveness.js';

test('liveness names the ranks silent for longer than the timeout, longest first', () => {
  const l = new Liveness(3, 1000, 0);
  assert.deepEqual(l.silent(1000), [], 'exactly the timeout is not yet too long');
  l.seen(0, 900);
  l.seen(2, 400);
  assert.deepEqual(l.silent(1500), [{ rank: 1, ms: 1500 }, { rank: 2, ms: 1100 }]);
  l.seen(1, 1500);
  l.seen(2, 300); // late, out-of-order news never moves a rank back in time
  assert.deepEqual(l.silent(1500), [{ rank: 2, ms: 1100 }]);
  l.seen(7, 2000); // not a rank: ignored
  assert.deepEqual(l.silent(2000).map((s) => s.rank), [2, 0]);
});
