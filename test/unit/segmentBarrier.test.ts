import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { GenerationAborted, TimeoutError } from '../../src/shared/errors.js';
import { type BarrierGuard, type BarrierWordAddon, SegmentBarrier } from '../../src/shared/allreduce/segmentBarrier.js';
import { BARRIER_WORD_OFFSET, sharedMemoryAllReduce, sharedSegmentBytes, sharedSlots } from '../../src/shared/allreduce/sharedMemoryReduce.js';
import { averagedRange } from '../../src/shared/allreduce/averaged.js';
import { barrierWord, loadSharedMemory } from '../../src/shared/transport/sharedMemory.js';
import { NATIVE_ADDON_PATH } from '../../src/shared/compute/nativeAddon.js';
import { assertAverages, randomBuffers } from '../fixtures/buffers.js';

const addon = loadSharedMemory();
const word = barrierWord(addon);
let serial = 0;
/** A fresh segment name, unlinked by the caller's `finally`. */
const freshName = (): string => `/trainer-test-barrier-${process.pid}-${serial++}`;
const live: BarrierGuard = { timeoutMs: 10_000, assertLive: () => undefined };

test('the addon has the barrier word', () => {
  assert.ok(word, 'shmArrive and shmWait are exported');
});

test('native barrier word over two mappings of one segment: the last arrival completes it, a wait short of it times out with false', () => {
  const name = freshName();
  try {
    const a = addon.shmMap(name, 4096);
    const b = addon.shmMap(name, 4096);
    assert.equal(word!.shmArrive(a, 64, 2), false, 'the first of two is not the last');
    assert.equal(word!.shmWait(a, 64, 2, 5), false, 'alone, the wait runs out');
    assert.equal(new Uint32Array(b, 64, 1)[0], 1, 'the other mapping sees the arrival');
    assert.equal(word!.shmArrive(b, 64, 2), true, 'the second arrival, through the other mapping, completes it');
    assert.equal(word!.shmWait(a, 64, 2, 5), true);
    // Counts wrap modulo 2^32: a target past the wrap is reached by the arrivals that wrap.
    new Uint32Array(a, 128, 1)[0] = 0xffffffff;
    assert.equal(word!.shmWait(a, 128, 1, 0), false);
    assert.equal(word!.shmArrive(b, 128, 1), false, 'wrapped to 0');
    assert.equal(word!.shmArrive(b, 128, 1), true, 'wrapped to 1');
    assert.throws(() => word!.shmWait(a, 4094, 1, 1), /offset must be a multiple of 4 inside the buffer/);
    assert.throws(() => word!.shmWait(a, 4096, 1, 1), /offset must be a multiple of 4 inside the buffer/);
    assert.throws(() => word!.shmArrive(a, 0, -1), /target must be an integer/);
    assert.throws(() => word!.shmWait(a, 0, 1, 5000), /ms must be in \[0, 1000\]/);
    // A call with the wrong number of arguments names the call and what it takes.
    const loose = word as unknown as Record<'shmArrive' | 'shmWait', (...args: unknown[]) => unknown>;
    assert.throws(() => loose.shmArrive(a, 0), /shmArrive: expected \(segment, offset, target\)/);
    assert.throws(() => loose.shmWait(a, 0, 1), /shmWait: expected \(segment, offset, target, ms\)/);
  } finally {
    addon.shmUnlink(name);
  }
});

test('native barrier word: a rank asleep on the futex in another thread, through its own mapping, is woken by the last arrival', async () => {
  const name = freshName();
  const main = addon.shmMap(name, 4096);
  try {
    // One wait of the longest slice: it returns true only if woken (or if the arrival came before it slept), false if the wake was lost.
    const worker = new Worker(`
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.file);
      const seg = addon.shmMap(workerData.name, 4096);
      addon.shmArrive(seg, 0, 2);
      parentPort.postMessage('waiting');
      parentPort.postMessage(addon.shmWait(seg, 0, 2, 1000));
    `, { eval: true, workerData: { file: NATIVE_ADDON_PATH, name } });
    const messages: unknown[] = [];
    const done = new Promise<unknown>((resolve, reject) => {
      worker.on('message', (m) => { messages.push(m); if (messages.length === 2) resolve(m); });
      worker.on('error', reject);
    });
    while (messages.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100)); // let it fall asleep (if it has not, the wait passes without a wake: no false failure)
    assert.equal(word!.shmArrive(main, 0, 2), true);
    assert.equal(await done, true, 'the sleeper was woken within its slice');
    await worker.terminate();
  } finally {
    addon.shmUnlink(name);
  }
});

test('segment barriers over three mappings in one process: ranks meet at every barrier, and the all-reduce through them averages', async () => {
  const name = freshName();
  const world = 3;
  const capacity = 1001;
  try {
    const segments = Array.from({ length: world }, () => addon.shmMap(name, sharedSegmentBytes(world, capacity)));
    const barriers = segments.map((s, r) => new SegmentBarrier(word!, s, BARRIER_WORD_OFFSET, world, r));
    for (let call = 0; call < 4; call++) {
      const len = call % 2 === 0 ? capacity : 13;
      const inputs = randomBuffers(world, len, call + 1);
      const outs = await Promise.all(inputs.map(async (b, r) => {
        // A rank that arrives late: the others wait for it in the futex, in slices, and the event loop goes on.
        if (r === call % world) await new Promise((resolve) => setTimeout(resolve, 20));
        const avg = await sharedMemoryAllReduce(Float32Array.from(b), r, sharedSlots(segments[r]!, world, capacity), (call % 2) as 0 | 1, () => barriers[r]!.wait(live));
        return Float32Array.from(averagedRange(avg, 0, len));
      }));
      assertAverages(inputs, outs, `call ${call}`);
      for (const o of outs) assert.deepEqual(o, outs[0]);
    }
    assert.equal(new Uint32Array(segments[0]!, BARRIER_WORD_OFFSET, 1)[0], 4 * world, 'one barrier per call, one arrival per rank');
  } finally {
    addon.shmUnlink(name);
  }
});

test('a segment barrier that a rank never reaches times out, naming how many arrived; the real futex waits in slices', async () => {
  const name = freshName();
  try {
    const seg = addon.shmMap(name, 4096);
    const barrier = new SegmentBarrier(word!, seg, 0, 3, 1);
    await assert.rejects(barrier.wait({ timeoutMs: 30, assertLive: () => undefined }), (err: unknown) => err instanceof TimeoutError && /no rank 0, 2 at shared-memory barrier 1 within 30 ms \(1 of 3 ranks arrived\)/.test(err.message));
  } finally {
    addon.shmUnlink(name);
  }
});

/** A fake barrier word: arrivals counted in a plain buffer, waits that never see the target. */
function stuckWord(): { addon: BarrierWordAddon; waits: () => number; segment: ArrayBuffer } {
  const segment = new ArrayBuffer(64);
  const counter = new Uint32Array(segment, 0, 1);
  let waits = 0;
  return {
    segment,
    waits: () => waits,
    addon: {
      shmArrive: (_s, _o, target) => ++counter[0]! === target,
      shmWait: () => { waits++; return false; },
    },
  };
}

test('a segment barrier ends with the guard\'s error when the generation is aborted mid-wait, and checks it before arriving', async () => {
  const fake = stuckWord();
  let aborted = false;
  const guard: BarrierGuard = { timeoutMs: 60_000, assertLive: () => { if (aborted) throw new GenerationAborted(1); } };
  let clock = 0;
  const barrier = new SegmentBarrier(fake.addon, fake.segment, 0, 2, 0, () => clock, async () => {
    clock += 2;
    if (fake.waits() === 3) aborted = true; // the abort comes in on the event loop between slices
  });
  await assert.rejects(barrier.wait(guard), GenerationAborted);
  assert.equal(fake.waits(), 4, 'it went on waiting in slices until the abort');
  await assert.rejects(barrier.wait(guard), GenerationAborted);
  assert.equal(new Uint32Array(fake.segment, 0, 1)[0], 1, 'an aborted generation does not arrive again');
});

test('a segment barrier times out by the guard\'s deadline on its own clock, and the last arrival does not wait', async () => {
  const fake = stuckWord();
  let clock = 0;
  const barrier = new SegmentBarrier(fake.addon, fake.segment, 0, 2, 0, () => clock, async () => { clock += 2; });
  await assert.rejects(barrier.wait({ timeoutMs: 10, assertLive: () => undefined }), /no rank 1 at shared-memory barrier 1 within 10 ms \(1 of 2 ranks arrived\)/);
  assert.equal(fake.waits(), 6);
  // The peer arrives late: this rank, the last at barrier 2 (target 4), passes at once.
  new Uint32Array(fake.segment, 0, 1)[0] = 3;
  await barrier.wait(live);
  assert.equal(fake.waits(), 6, 'no wait for the last arrival');
});
