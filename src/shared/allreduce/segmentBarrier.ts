import { TimeoutError } from '../errors.js';
import type { ChunkTag } from './link.js';

/** The addon's barrier word in a mapped segment (native/src/shmBarrier.c). */
export interface BarrierWordAddon {
  /** Adds 1 to the word at `offset`; the arrival that brings it to `target` wakes every sleeper. True if it reached `target`. */
  shmArrive(segment: ArrayBuffer, offset: number, target: number): boolean;
  /** Waits (spins, then sleeps on a futex) until the word reaches `target`, at most `ms` ms (≤ 1000). True if it did. */
  shmWait(segment: ArrayBuffer, offset: number, target: number, ms: number): boolean;
}

/** What a barrier wait must honour besides its peers: the link's timeout, and an aborted generation or closed link (assertLive throws what a recv would). */
export interface BarrierGuard {
  readonly timeoutMs: number;
  assertLive(): void;
  /** Told as this rank arrives, with the tag its message barrier would send (the fault hooks kill a worker here). */
  arriving?(tag: ChunkTag): void;
}

/** How long one native wait may block the event loop before JS checks for aborts and the deadline again. */
export const WAIT_SLICE_MS = 2;

/**
 * A barrier in the segment itself: one 32-bit arrival counter that every rank
 * of `world` adds 1 to per barrier and waits on until it reaches
 * (barriers passed + 1) × world. No message, so a rank passes as soon as the
 * last one arrives, without either process's event loop or a ZeroMQ I/O thread
 * being scheduled. Each rank arrives once per barrier and cannot arrive at the
 * next before this one is complete, so the counter never runs a full barrier
 * ahead of a waiter; counts wrap modulo 2^32 (the native side compares by
 * signed difference).
 *
 * The wait blocks in slices of `sliceMs`, returning to the event loop between
 * them (`pause`), where `guard` ends it on an abort or a closed link and the
 * deadline names it a timeout: the same outcomes as a message barrier, so the
 * coordinator's abort round and the next generation work unchanged. A
 * generation never reuses a counter after a failed barrier: it gets a fresh
 * segment.
 */
export class SegmentBarrier {
  private target = 0;
  private passed = 0;

  /** Word r (after the counter): the last barrier rank r arrived at, to name the missing ranks on a timeout. */
  private readonly reachedBy: Uint32Array;

  constructor(
    private readonly addon: BarrierWordAddon,
    private readonly segment: ArrayBuffer,
    private readonly offset: number,
    private readonly world: number,
    private readonly rank: number,
    private readonly now: () => number = () => performance.now(),
    private readonly pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
    private readonly sliceMs = WAIT_SLICE_MS,
  ) {
    this.reachedBy = new Uint32Array(segment, offset + 4, world);
  }

  async wait(guard: BarrierGuard): Promise<void> {
    guard.assertLive();
    this.target = (this.target + this.world) >>> 0;
    const target = this.target;
    const barrier = ++this.passed;
    // Written before arriving, so a rank that sees the barrier complete sees every rank's word too; read only on a timeout.
    this.reachedBy[this.rank] = barrier;
    if (this.addon.shmArrive(this.segment, this.offset, target)) return;
    const deadline = this.now() + guard.timeoutMs;
    while (!this.addon.shmWait(this.segment, this.offset, target, this.sliceMs)) {
      guard.assertLive();
      if (this.now() >= deadline) {
        const missing = [...this.reachedBy].flatMap((b, r) => ((barrier - b) | 0) > 0 ? [r] : []);
        throw new TimeoutError(`all-reduce: no rank ${missing.join(', ')} at shared-memory barrier ${barrier} within ${guard.timeoutMs} ms (${this.world - missing.length} of ${this.world} ranks arrived)`);
      }
      await this.pause();
    }
  }
}
