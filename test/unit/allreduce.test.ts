import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkBounds, ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { StarReducer, averageInOrder } from '../../src/shared/allreduce/star.js';
import { memoryRing } from '../../src/shared/allreduce/memoryLink.js';
import { outOfWindow } from '../../src/shared/allreduce/link.js';
import { TimeoutError } from '../../src/shared/errors.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';

const LENGTHS = [0, 1, 2, 7, 13, 1001];

test('chunk bounds cover any length exactly once', () => {
  for (const n of [1, 2, 3, 5]) {
    for (const len of LENGTHS) {
      let expectStart = 0;
      for (let i = 0; i < n; i++) {
        const [a, b] = chunkBounds(len, n, i);
        assert.equal(a, expectStart);
        assert.ok(b >= a);
        expectStart = b;
      }
      assert.equal(expectStart, len);
    }
  }
});

test('ring all-reduce over the in-memory link equals the naive average, N = 1..5, odd lengths, any segment size', async () => {
  for (let world = 1; world <= 5; world++) {
    for (const len of LENGTHS) {
      // Segments of 1 and 3 elements exercise the pipeline (many segments, ragged last one); the default sends whole chunks here.
      for (const segment of [1, 3, undefined]) {
        const inputs = randomBuffers(world, len, world * 100 + len);
        const bufs = inputs.map((b) => Float32Array.from(b));
        const links = memoryRing(world);
        await Promise.all(bufs.map((b, r) => ringAllReduce(b, r, world, links[r]!, 1, 'd', segment)));
        const what = `world ${world} length ${len} segment ${segment ?? 'default'}`;
        assertAverages(inputs, bufs, what);
        for (const b of bufs) assert.deepEqual(b, bufs[0], `every rank ends with identical bits (${what})`);
      }
    }
  }
});

test('ring all-reduce refuses a segment size that is not a positive integer', async () => {
  const [link] = memoryRing(2);
  await assert.rejects(ringAllReduce(new Float32Array(4), 0, 2, link!, 1, 'd', 0), /segmentElements must be a positive integer/);
});

test('star reducer equals the naive average whatever the arrival order', () => {
  for (let world = 1; world <= 5; world++) {
    for (const len of LENGTHS) {
      const inputs = randomBuffers(world, len, len + world);
      const star = new StarReducer(world);
      const order = inputs.map((_, i) => i).reverse();
      let result: Float32Array | undefined;
      for (const r of order) {
        assert.equal(result, undefined, 'no result before the last contribution');
        result = star.add(3, 'g', r, inputs[r]!);
      }
      assert.ok(result);
      assertAverages(inputs, [result], `world ${world} length ${len}`);
      assert.deepEqual(result, averageInOrder(inputs), 'rank order, not arrival order');
    }
  }
});

test('star reducer refuses duplicates, bad ranks and mismatched lengths', () => {
  const star = new StarReducer(3);
  star.add(1, 'd', 0, new Float32Array(4));
  assert.throws(() => star.add(1, 'd', 0, new Float32Array(4)), /duplicate gradient from rank 0/);
  assert.throws(() => star.add(1, 'd', 3, new Float32Array(4)), /outside world of 3/);
  assert.throws(() => star.add(1, 'd', 1, new Float32Array(5)), /rank 1 sent 5 gradient elements/);
  assert.deepEqual(star.missing(1, 'd'), [1, 2]);
});

test('a ring peer that never sends times out with the silent rank named', async () => {
  const links = memoryRing(3, 50);
  const buf = new Float32Array(9);
  // Ranks 0 and 1 take part; rank 2 never does, so rank 0 never hears from its predecessor.
  const r0 = ringAllReduce(Float32Array.from(buf), 0, 3, links[0]!, 1, 'd');
  void ringAllReduce(Float32Array.from(buf), 1, 3, links[1]!, 1, 'd').catch(() => undefined);
  await assert.rejects(r0, (e: unknown) => e instanceof TimeoutError && /from rank 2/.test(e.message));
});

test('ring chunks outside the window a rank can still need are recognized: stale, or too far ahead', () => {
  const t = (step: number, phase: 'd' | 'g', seq: number): { step: number; phase: 'd' | 'g'; seq: number } => ({ step, phase, seq });
  assert.equal(outOfWindow(t(1, 'd', 0), undefined, 2), undefined);
  assert.equal(outOfWindow(t(2, 'd', 0), undefined, 2), undefined);
  assert.match(outOfWindow(t(3, 'd', 0), undefined, 2) ?? '', /more than 2 steps ahead of step 0/);
  const last = t(5, 'g', 3);
  assert.match(outOfWindow(t(5, 'g', 3), last, 2) ?? '', /stale step 5 phase g chunk 3/);
  assert.match(outOfWindow(t(5, 'd', 9), last, 2) ?? '', /stale/);
  assert.match(outOfWindow(t(4, 'g', 9), last, 2) ?? '', /stale/);
  assert.equal(outOfWindow(t(5, 'g', 4), last, 2), undefined);
  assert.equal(outOfWindow(t(6, 'd', 0), last, 2), undefined);
  assert.equal(outOfWindow(t(7, 'g', 99), last, 2), undefined);
  assert.match(outOfWindow(t(8, 'd', 0), last, 2) ?? '', /more than 2 steps ahead of step 5/);
  // A run resumed after step 40: its window starts there.
  assert.equal(outOfWindow(t(41, 'd', 0), undefined, 2, 40), undefined);
  assert.equal(outOfWindow(t(42, 'g', 5), undefined, 2, 40), undefined);
  assert.match(outOfWindow(t(40, 'g', 0), undefined, 2, 40) ?? '', /stale step 40 phase g chunk 0 \(step 40 was done before this run started\)/);
  assert.match(outOfWindow(t(43, 'd', 0), undefined, 2, 40) ?? '', /more than 2 steps ahead of step 40/);
});
