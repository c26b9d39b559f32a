import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkBounds, ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { StarReducer, averageInOrder } from '../../src/shared/allreduce/star.js';
import { memoryRing } from '../../src/shared/allreduce/memoryLink.js';
import { type RingLayout, type RingPosition, chunkLimits, chunkRefusal, outOfWindow, windowBytes } from '../../src/shared/allreduce/link.js';
import { TimeoutError } from '../../src/shared/errors.js';
import type { WireData } from '../../src/shared/allreduce/compression.js';
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
      let result: WireData | undefined;
      for (const r of order) {
        assert.equal(result, undefined, 'no result before the last contribution');
        result = star.add(3, 'g', r, inputs[r]!);
      }
      assert.ok(result instanceof Float32Array);
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
  assert.equal(outOfWindow(t(1, 'd', 0), undefined), undefined);
  assert.equal(outOfWindow(t(2, 'd', 0), undefined), undefined);
  assert.match(outOfWindow(t(3, 'd', 0), undefined) ?? '', /more than 2 steps ahead of step 0/);
  const last = t(5, 'g', 3);
  assert.match(outOfWindow(t(5, 'g', 3), last) ?? '', /stale step 5 phase g chunk 3/);
  assert.match(outOfWindow(t(5, 'd', 9), last) ?? '', /stale/);
  assert.match(outOfWindow(t(4, 'g', 9), last) ?? '', /stale/);
  assert.equal(outOfWindow(t(5, 'g', 4), last), undefined);
  assert.equal(outOfWindow(t(6, 'd', 0), last), undefined);
  assert.equal(outOfWindow(t(7, 'g', 99), last), undefined);
  assert.match(outOfWindow(t(8, 'd', 0), last) ?? '', /more than 2 steps ahead of step 5/);
  // A run resumed after step 40: its window starts there.
  assert.equal(outOfWindow(t(41, 'd', 0), undefined, 40), undefined);
  assert.equal(outOfWindow(t(42, 'g', 5), undefined, 40), undefined);
  assert.match(outOfWindow(t(40, 'g', 0), undefined, 40) ?? '', /stale step 40 phase g chunk 0 \(step 40 was done before this run started\)/);
  assert.match(outOfWindow(t(43, 'd', 0), undefined, 40) ?? '', /more than 2 steps ahead of step 40/);
});

test('the early-chunk rule: sequence numbers and sizes an all-reduce can send, the window, and one window of bytes per generation', () => {
  // 1000 (d) and 3000 (g) floats in segments of 100, up to 4 ranks.
  const layout: RingLayout = { lengths: { d: 1000, g: 3000 }, segmentElements: 100, maxWorld: 4 };
  // 2 ranks: 2 rounds; d: 500-float chunks in 5 segments, g: 1500 in 15.
  assert.deepEqual(chunkLimits(1000, 2, 100), { count: 10, elements: 100 });
  assert.deepEqual(chunkLimits(3000, 2, 100), { count: 30, elements: 100 });
  // A shorter buffer can have fewer segments, but none longer than a segment.
  assert.deepEqual(chunkLimits(150, 2, 100), { count: 2, elements: 75 });
  const at: RingPosition = { gen: 3, world: 2, lastTaken: undefined, stepsDone: 10 };
  const c = (over: Partial<{ gen: number; step: number; phase: 'd' | 'g'; seq: number; elements: number }>): { gen: number; step: number; phase: 'd' | 'g'; seq: number; elements: number } => ({ gen: 3, step: 11, phase: 'd', seq: 0, elements: 100, ...over });
  assert.equal(chunkRefusal(c({}), at, layout, 0), undefined);
  assert.match(chunkRefusal(c({}), at, undefined, 0) ?? '', /no all-reduce expected yet/);
  assert.equal(chunkRefusal(c({ seq: 9 }), at, layout, 0), undefined);
  assert.match(chunkRefusal(c({ seq: 10 }), at, layout, 0) ?? '', /step 11 phase d chunk 10 of generation 3: an all-reduce has only 10 chunks/);
  assert.equal(chunkRefusal(c({ phase: 'g', seq: 29 }), at, layout, 0), undefined);
  assert.match(chunkRefusal(c({ phase: 'g', seq: 30 }), at, layout, 0) ?? '', /only 30 chunks/);
  assert.match(chunkRefusal(c({ elements: 101 }), at, layout, 0) ?? '', /holds 101 floats, more than the 100 of the largest chunk/);
  assert.equal(chunkRefusal(c({ step: 12 }), at, layout, 0), undefined);
  assert.match(chunkRefusal(c({ step: 13 }), at, layout, 0) ?? '', /more than 2 steps ahead of step 10/);
  assert.match(chunkRefusal(c({ step: 10 }), at, layout, 0) ?? '', /stale/);
  assert.match(chunkRefusal(c({ gen: 2 }), at, layout, 0) ?? '', /stale step 11 phase d chunk 0 of generation 2 \(now 3\)/);
  // A later generation's world is unknown: the most chunks of any world up to 4 ranks (d: 18, with 4).
  assert.deepEqual([2, 3, 4].map((w) => chunkLimits(1000, w, 100).count), [10, 16, 18]);
  assert.equal(chunkRefusal(c({ gen: 4, seq: 17 }), at, layout, 0), undefined);
  assert.match(chunkRefusal(c({ gen: 4, seq: 18 }), at, layout, 0) ?? '', /only 18 chunks/);
  assert.match(chunkRefusal(c({ gen: 4, step: 13 }), at, layout, 0) ?? '', /of generation 4 is more than 2 steps ahead of step 10/);
  // Before its first generation a rank knows no progress: any step of a later generation may wait.
  assert.equal(chunkRefusal(c({ gen: 1, step: 5000 }), { gen: 0, world: 1, lastTaken: undefined, stepsDone: 0 }, layout, 0), undefined);
  // Bytes: 3 steps × (d: 18 chunks + g: 48 chunks) × 100 floats × 4 bytes.
  assert.deepEqual([2, 3, 4].map((w) => chunkLimits(3000, w, 100).count), [30, 40, 48]);
  const limit = windowBytes(layout);
  assert.equal(limit, 3 * (18 + 48) * 100 * 4);
  assert.equal(chunkRefusal(c({}), at, layout, limit - 400), undefined);
  assert.match(chunkRefusal(c({}), at, layout, limit - 399) ?? '', new RegExp(`${limit - 399} bytes already wait, at most ${limit}`));
});
