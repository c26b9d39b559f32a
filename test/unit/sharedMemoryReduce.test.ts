import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SlotAverage, averageSlotsJs, peerBarrier, sharedMemoryAllReduce, sharedSegmentBytes, sharedSlots } from '../../src/shared/allreduce/sharedMemoryReduce.js';
import { loadSharedMemory } from '../../src/shared/transport/sharedMemory.js';
import { memoryPeers, memoryRing } from '../../src/shared/allreduce/memoryLink.js';
import { ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { chunkRefusal } from '../../src/shared/allreduce/link.js';
import { sharedMemoryLimits } from '../../src/shared/allreduce/sharedMemoryPlan.js';
import type { PeerLink } from '../../src/shared/allreduce/peerLink.js';
import type { Phase } from '../../src/shared/protocol.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';
import { averagedRange } from '../../src/shared/allreduce/averaged.js';

const LENGTHS = [0, 1, 2, 7, 13, 1001];

/** `world` ranks sharing one segment (one ArrayBuffer stands for the mapping), barriers over in-memory peers. */
function sharedRanks(world: number, capacity: number, average?: SlotAverage): { reduce(bufs: Float32Array[], step: number, phase: Phase, bank: 0 | 1, delays?: number[]): Promise<Float32Array[]> } {
  const segment = new ArrayBuffer(sharedSegmentBytes(world, capacity));
  const links = memoryPeers(world);
  const slots = sharedSlots(segment, world, capacity);
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  return {
    reduce: (bufs, step, phase, bank, delays) => Promise.all(bufs.map(async (b, r) => {
      // A rank that arrives late: the others must wait for it at the barriers, not read its stale slot.
      if (delays?.[r]) await pause(delays[r]);
      const avg = await sharedMemoryAllReduce(b, r, slots, bank, () => peerBarrier(links[r] as PeerLink, r, world, step, phase), undefined, average);
      return Float32Array.from(averagedRange(avg, 0, b.length));
    })),
  };
}

test('shared-memory all-reduce equals the naive average with identical bits on every rank, N = 1..5, odd lengths', async () => {
  for (let world = 1; world <= 5; world++) {
    for (const len of LENGTHS) {
      const inputs = randomBuffers(world, len, world * 31 + len);
      const bufs = inputs.map((b) => Float32Array.from(b));
      const outs = await sharedRanks(world, Math.max(len, 1)).reduce(bufs, 1, 'd', 0, bufs.map((_, r) => (r === world - 1 ? 5 : 0)));
      const what = `world ${world} length ${len}`;
      assertAverages(inputs, outs, what);
      for (const b of outs) assert.deepEqual(b, outs[0], `every rank ends with identical bits (${what})`);
    }
  }
});

test('shared-memory all-reduce sums slot 0 + 1 + … + N−1 left to right, 1/N folded into the last add', async () => {
  const world = 4;
  const inputs = randomBuffers(world, 257, 7);
  const bufs = inputs.map((b) => Float32Array.from(b));
  const outs = await sharedRanks(world, 257).reduce(bufs, 1, 'g', 1);
  const expected = Float32Array.from({ length: 257 }, (_, i) => {
    let acc = Math.fround(inputs[0]![i]! + inputs[1]![i]!);
    acc = Math.fround(acc + inputs[2]![i]!);
    return Math.fround(acc + inputs[3]![i]!) * (1 / world);
  });
  for (const b of outs) assert.deepEqual(b, expected);
});

test('for N = 2 the shared-memory all-reduce gives the ring\'s bits', async () => {
  for (const len of LENGTHS) {
    const inputs = randomBuffers(2, len, 100 + len);
    const viaRing = inputs.map((b) => Float32Array.from(b));
    const links = memoryRing(2);
    await Promise.all(viaRing.map((b, r) => ringAllReduce(b, r, 2, links[r]!, 1, 'd')));
    const viaShm = await sharedRanks(2, Math.max(len, 1)).reduce(inputs.map((b) => Float32Array.from(b)), 1, 'd', 0);
    for (let r = 0; r < 2; r++) assert.deepEqual(viaShm[r], viaRing[r], `length ${len} rank ${r}`);
  }
});

test('consecutive calls in alternating banks, each rank forming its average late and at its own pace: a rank running ahead never disturbs the slots another still reads', async () => {
  const world = 3;
  const capacity = 50;
  const segment = new ArrayBuffer(sharedSegmentBytes(world, capacity));
  const links = memoryPeers(world);
  const calls = [['d', 50], ['g', 29], ['d', 50], ['g', 29], ['d', 50], ['g', 29]] as const;
  const inputs = calls.map(([, len], k) => randomBuffers(world, len, k * 10 + len));
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  // Each rank makes every call in turn, forming the last call's average only after a pause of its own, as a
  // slow update would: the fast ranks meanwhile write their next call's slots (the other bank) and wait.
  const formed = await Promise.all(Array.from({ length: world }, async (_, r) => {
    const slots = sharedSlots(segment, world, capacity);
    const out: Float32Array[] = [];
    for (const [k, [phase]] of calls.entries()) {
      const avg = await sharedMemoryAllReduce(Float32Array.from(inputs[k]![r]!), r, slots, (k % 2) as 0 | 1, () => peerBarrier(links[r] as PeerLink, r, world, 1 + (k >> 1), phase));
      await pause(r === k % world ? 8 : 0);
      out.push(Float32Array.from(averagedRange(avg, 0, inputs[k]![r]!.length)));
    }
    return out;
  }));
  for (const [k] of calls.entries()) {
    assertAverages(inputs[k]!, formed.map((f) => f[k]!), `call ${k}`);
    for (const f of formed) assert.deepEqual(f[k], formed[0]![k], `call ${k}: identical bits on every rank`);
  }
});

test('a buffer larger than the shared slot is refused, and a segment too small for the ranks', async () => {
  const slots = sharedSlots(new ArrayBuffer(sharedSegmentBytes(2, 4)), 2, 4);
  await assert.rejects(sharedMemoryAllReduce(new Float32Array(5), 0, slots, 0, async () => undefined), /does not fit a shared slot of 4/);
  assert.throws(() => sharedSlots(new ArrayBuffer(sharedSegmentBytes(2, 4)), 3, 4), /3 ranks of 4 floats need/);
});

test('a barrier waits for the missing rank and names it when it does not come', async () => {
  const links = memoryPeers(3, 50);
  // Rank 2 never arrives: ranks 0 and 1 time out naming it.
  const waits = [0, 1].map((r) => peerBarrier(links[r]!, r, 3, 1, 'd'));
  await assert.rejects(waits[0]!, /from rank 2/);
  await assert.rejects(waits[1]!, /from rank 2/);
});

test('the ring link admits the shared-memory barrier\'s messages: sequence numbers 0 … N−1, within the ring\'s own 2(N−1) chunks', () => {
  const layout = { lengths: { d: 8, g: 8 }, segmentElements: 262_144, maxWorld: 4 };
  const at = { gen: 1, world: 4, lastTaken: undefined, stepsDone: 0 };
  assert.deepEqual(sharedMemoryLimits(4), { count: 4, elements: 0 });
  // The barrier message of rank 3 in a world of 4: sequence number 3.
  const barrier = { gen: 1, step: 1, phase: 'd' as const, seq: 3, elements: 0 };
  assert.equal(chunkRefusal(barrier, at, { ...layout, sharedMemory: true }, 0), undefined);
  assert.equal(chunkRefusal(barrier, at, layout, 0), undefined);
  assert.match(chunkRefusal({ ...barrier, seq: 6 }, at, { ...layout, sharedMemory: true }, 0) ?? '', /only 6 chunks/);
});

/** The addon's averageSlots, which the workers use where it loads; the test set-up builds the addon, so a missing one fails here. */
function nativeAverage(): SlotAverage {
  const addon = loadSharedMemory();
  assert.ok(addon.averageSlots, 'the native addon has averageSlots (rebuild it: npm run build:native)');
  return addon.averageSlots.bind(addon);
}

test('the native slot average gives the JavaScript\'s bits: N = 2..6, lengths across its 2048-float blocks, values from 1e-30 to 1e30, factor 1/N', () => {
  const native = nativeAverage();
  for (let n = 2; n <= 6; n++) {
    for (const len of [1, 7, 2048, 2049, 5000]) {
      const parts = randomBuffers(n, len, n * 1000 + len).map((b, r) => b.map((v, i) => v * 10 ** (((i * 7 + r * 3) % 61) - 30)));
      const js = new Float32Array(len);
      const c = new Float32Array(len);
      averageSlotsJs(js, parts, 1 / n);
      native(c, parts, 1 / n);
      assert.deepEqual(new Uint32Array(c.buffer), new Uint32Array(js.buffer), `N = ${n}, length ${len}`);
    }
  }
});

test('the native slot average refuses parts of another length, a single part, and values that are not Float32Arrays', () => {
  const native = nativeAverage();
  const out = new Float32Array(4);
  assert.throws(() => native(out, [new Float32Array(4), new Float32Array(3)], 0.5), /each as long as out/);
  assert.throws(() => native(out, [new Float32Array(4)], 1), /2 to 256/);
  assert.throws(() => native(out, [new Float32Array(4), new Float64Array(4) as unknown as Float32Array], 0.5), /Float32Array/);
});

test('with the native slot average the shared-memory all-reduce keeps its bits: N = 2 equals the ring, N = 3..5 the JavaScript average', async () => {
  const native = nativeAverage();
  for (let world = 2; world <= 5; world++) {
    const inputs = randomBuffers(world, 1001, world);
    const viaJs = await sharedRanks(world, 1001).reduce(inputs.map((b) => Float32Array.from(b)), 1, 'd', 0);
    const viaC = await sharedRanks(world, 1001, native).reduce(inputs.map((b) => Float32Array.from(b)), 1, 'd', 0);
    for (const b of viaC) assert.deepEqual(b, viaJs[0], `world ${world}`);
    if (world === 2) {
      const viaRing = inputs.map((b) => Float32Array.from(b));
      const links = memoryRing(2);
      await Promise.all(viaRing.map((b, r) => ringAllReduce(b, r, 2, links[r]!, 1, 'd')));
      assert.deepEqual(viaC[0], viaRing[0]);
    }
  }
});
