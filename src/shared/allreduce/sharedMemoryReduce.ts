import type { Phase } from '../protocol.js';
import type { PeerLink } from './peerLink.js';
import { type RingTimes, addInto, addScaledInto } from './ring.js';
import { barrierSeq } from './sharedMemoryPlan.js';
import type { Averaged } from './averaged.js';

/**
 * Where each rank's gradients live in a segment shared by the `world` ranks of
 * one host: a header (the barrier word of segmentBarrier.ts), then two banks
 * (call parity), each with one slot per rank of `capacity` floats.
 */
export interface SharedSlots {
  readonly world: number;
  readonly capacity: number;
  slot(bank: 0 | 1, rank: number): Float32Array;
}

/** The barrier word's offset; after it, one word per rank (segmentBarrier.ts: the last barrier each rank reached). */
export const BARRIER_WORD_OFFSET = 0;

/** Bytes before the first slot: the barrier word and the ranks' words, rounded up to whole cache lines so that no slot shares one with them. */
export function segmentHeaderBytes(world: number): number {
  return Math.ceil(((1 + world) * 4) / 64) * 64;
}

/** Bytes of a segment for `world` ranks reducing buffers of up to `capacity` floats. */
export function sharedSegmentBytes(world: number, capacity: number): number {
  return segmentHeaderBytes(world) + 2 * world * Math.max(1, capacity) * Float32Array.BYTES_PER_ELEMENT;
}

/** The regions of a segment of sharedSegmentBytes(world, capacity) bytes. */
export function sharedSlots(segment: ArrayBuffer, world: number, capacity: number): SharedSlots {
  const need = sharedSegmentBytes(world, capacity);
  if (segment.byteLength < need) throw new RangeError(`shared segment has ${segment.byteLength} bytes, ${world} ranks of ${capacity} floats need ${need}`);
  const header = segmentHeaderBytes(world);
  return { world, capacity, slot: (bank, rank) => new Float32Array(segment, header + (bank * world + rank) * Math.max(1, capacity) * 4, capacity) };
}

/** out[i] = (a[i] + b[i]) × factor, rounded to float32 after the add as addScaledInto does: the N = 2 case in one pass. */
function sumScaledInto(out: Float32Array, a: Float32Array, b: Float32Array, factor: number): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(a[i]! + b[i]!) * factor;
}

/**
 * out = (((p0 + p1) + p2) + … + p(N−1)) × factor: the sum left to right, rounded to float32 after
 * each add, the factor applied once (in double, then rounded). Every implementation must give these
 * bits: replicas apply them.
 */
export type SlotAverage = (out: Float32Array, parts: Float32Array[], factor: number) => void;

/** SlotAverage in JavaScript; the native addon's averageSlots is the same arithmetic, vectorized. */
export function averageSlotsJs(out: Float32Array, parts: Float32Array[], factor: number): void {
  const n = parts.length;
  if (n < 2) throw new RangeError(`averageSlots needs at least 2 parts, got ${n}`);
  if (n === 2) {
    sumScaledInto(out, parts[0]!, parts[1]!, factor);
    return;
  }
  sumScaledInto(out, parts[0]!, parts[1]!, 1);
  for (let r = 2; r < n - 1; r++) addInto(out, parts[r]!);
  addScaledInto(out, parts[n - 1]!, factor);
}

/** Waits until every rank has called it: every slot of the bank is written. */
export type Barrier = () => Promise<void>;

/**
 * All-reduce through shared memory, averaging `buf` across the ranks of
 * `slots` (NCCL's way within a node): no byte of gradient goes through a
 * socket. Each rank
 *   1. copies `buf` into its slot of bank `bank`;
 *   2. waits at the barrier: every slot of the bank is written;
 *   3. returns every rank's slot, with 1/N: the average still to be formed
 *      (PendingAverage), by whoever uses it, with `form` (this averageSlots).
 * Step 1 is skipped for a `buf` that is this rank's slot of `bank` already (read back into it).
 * Every rank forms it from the same bytes in the same order, so replicas stay
 * bit-identical. The native update forms it as it applies it (adamParts), so no
 * average is written anywhere and read back; other backends form it with
 * `form` (the addon's averageSlots where it has one). One barrier a call: each
 * wait for the slowest rank costs the step, and no rank needs another's work
 * beyond the slots.
 *
 * Summation order: slot 0 + slot 1 + … + slot N−1, left to right, rounded to
 * float32 after each add, the average's 1/N folded into the last add as the
 * ring does (Math.fround(sum + last) × 1/N). For N = 2 that is the ring's own
 * operation, (own + peer) × ½, and float addition commutes: the bits equal the
 * ring's. For N > 2 the ring adds each chunk in another order (starting after
 * its owner), so the bits may differ from the ring's in the last place.
 *
 * Why two banks, used by call parity (the caller alternates `bank`): the slots
 * of call k must not change while this rank still reads them, and other ranks
 * may run ahead. Call k touches only bank(k). A faster rank can be in call k+1
 * while this one still reads call k's slots: it writes the other bank. It
 * writes bank(k) again only in call k+2, after the barrier of call k+1, which
 * this rank reaches only when it makes its next call. So the slots of call k
 * stay valid until this rank calls again: the discriminator's average must be
 * used (applied) before the generator's all-reduce, as the step does.
 */
export async function sharedMemoryAllReduce(buf: Float32Array, rank: number, slots: SharedSlots, bank: 0 | 1, barrier: Barrier, times?: RingTimes,
  form: SlotAverage = averageSlotsJs): Promise<Averaged> {
  const n = slots.world;
  if (n === 1) return buf;
  if (buf.length > slots.capacity) throw new RangeError(`buffer of ${buf.length} floats does not fit a shared slot of ${slots.capacity}`);
  const len = buf.length;
  const own = slots.slot(bank, rank);
  // A buffer read back straight into this slot (SharedMemoryGeneration.nextSlot) is in place already.
  if (!(buf.buffer === own.buffer && buf.byteOffset === own.byteOffset)) own.set(buf);
  await barrier();
  if (times) times.firstArrival = performance.now();
  return { parts: Array.from({ length: n }, (_, r) => slots.slot(bank, r).subarray(0, len)), factor: 1 / n, form };
}

const NOTHING = new Float32Array(0);

/**
 * A barrier over a peer link: each rank sends an empty message to every other
 * and waits for one from each, tagged by barrierSeq so that every message a
 * rank receives carries its own tag (PeerLink's contract); a missing rank is
 * named by the link's timeout, and an aborted generation ends the wait.
 */
export async function peerBarrier(link: PeerLink, rank: number, world: number, step: number, phase: Phase): Promise<void> {
  const sends: Promise<void>[] = [];
  for (let to = 0; to < world; to++) {
    if (to === rank) continue;
    const sent = link.send(to, { step, phase, seq: barrierSeq(rank) }, NOTHING);
    sent.catch(() => undefined); // observed below; this only keeps an early failure from being "unhandled"
    sends.push(sent);
  }
  for (let from = 0; from < world; from++) {
    if (from !== rank) await link.recv(from, { step, phase, seq: barrierSeq(from) });
  }
  await Promise.all(sends);
}
