import type { Phase } from '../protocol.js';
import { ProtocolError } from '../errors.js';
import { type RingLink, segmentsPerChunk } from './link.js';
import type { WireCodec, WireData } from './compression.js';

/** Bounds of chunk i when `length` elements are cut into `n` nearly equal chunks (any length, empty chunks allowed). */
export function chunkBounds(length: number, n: number, i: number): [number, number] {
  return [Math.floor((i * length) / n), Math.floor(((i + 1) * length) / n)];
}

/**
 * Default pipeline segment: 256 Ki floats (1 MiB). Small enough that sending,
 * receiving and adding overlap; large enough that per-message cost is noise.
 */
export const DEFAULT_SEGMENT_ELEMENTS = 262_144;

/** When the phases of one all-reduce ended, in performance.now() milliseconds; filled in by ringAllReduce. */
export interface RingTimes {
  /** The first segment from the predecessor arrived: before it, this rank was waiting on a slower peer. */
  firstArrival?: number;
  /** Reduce-scatter done; all-gather starts. */
  reduceScatterEnd?: number;
}

const mod = (a: number, n: number): number => ((a % n) + n) % n;

// The hot loops live in small synchronous functions: V8 optimizes these far
// better than the same loop inside an async function's resumable frame.
export function addInto(target: Float32Array, incoming: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i]! += incoming[i]!;
}

/** target = (target + incoming) × factor, rounded to float32 after each operation as the two separate loops do: one pass instead of two. */
export function addScaledInto(target: Float32Array, incoming: Float32Array, factor: number): void {
  for (let i = 0; i < target.length; i++) target[i] = Math.fround(target[i]! + incoming[i]!) * factor;
}

export function scaleInPlace(target: Float32Array, factor: number): void {
  for (let i = 0; i < target.length; i++) target[i]! *= factor;
}

/**
 * Folds the segment that arrived in round `s` into `target` (reduce-scatter
 * rounds add, the last of them, reduceRounds - 1, also averages; all-gather
 * rounds copy) and returns what goes on to the successor.
 */
function stepPlain(s: number, reduceRounds: number, scale: number, target: Float32Array, incoming: WireData): Float32Array {
  if (!(incoming instanceof Float32Array)) throw new ProtocolError('ring segment holds 16-bit values, but this run sends float32 (--compression none)');
  if (s < reduceRounds - 1) addInto(target, incoming);
  // After the last reduce round this rank owns the full sum of this chunk: average it once, here.
  else if (s === reduceRounds - 1) addScaledInto(target, incoming, scale);
  else target.set(incoming);
  return target;
}

/** The same with 16-bit segments: returns the encoding to send on (the arriving one itself in the all-gather). */
function stepCompressed(codec: WireCodec, s: number, reduceRounds: number, scale: number, target: Float32Array, incoming: WireData, out: Uint16Array): Uint16Array {
  if (!(incoming instanceof Uint16Array)) throw new ProtocolError(`ring segment holds float32 values, but this run sends ${codec.name} (--compression ${codec.name})`);
  if (s < reduceRounds - 1) {
    codec.addInto(incoming, target);
    codec.encode(target, out);
    return out;
  }
  if (s === reduceRounds - 1) {
    codec.addScaledInto(incoming, target, scale);
    // Rounded once, here; this rank applies the rounded value like every other.
    codec.encodeRounding(target, out);
    return out;
  }
  codec.decodeInto(incoming, target);
  return incoming;
}

/**
 * Ring all-reduce (reduce-scatter, then all-gather), averaging `buf` in place
 * across `world` ranks. Each rank sends and receives 2(N-1)/N of the buffer,
 * whatever N. The average of each chunk is computed once, by the rank that owns
 * it, and then copied around the ring, so every rank ends with identical bits.
 *
 * Zero-copy: segments go out straight from `buf`. That is safe inside the
 * algorithm because a chunk sent in reduce-scatter round s is only overwritten
 * in all-gather round s, whose message causally follows the successor's receipt
 * of it (N-1 hops round the ring). The last round's segments may still be in
 * flight when this resolves: read the result, but give the next call a fresh
 * buffer (or one last used two calls ago: the FIFO link has drained it by then).
 *
 * Pipelined as NCCL does: each chunk travels in segments, and segment j of round
 * s+1 leaves as soon as segment j of round s has arrived and been reduced, so
 * the wire, the adds and the peer's work overlap instead of taking turns.
 *
 * With a `codec` (--compression fp16|bf16) every segment travels as 16-bit
 * values: each reduce-scatter hop decodes the partial sum, adds its own float32
 * gradients in float32 and encodes the result for the next hop. The owner
 * averages its chunk in float32, rounds it once, keeps the rounded value and
 * sends those bits; the all-gather forwards them untouched, so every rank, the
 * owner included, ends with the same rounded average. The 16-bit encodings live
 * in a scratch buffer of this call, each region written once.
 */
export async function ringAllReduce(
  buf: Float32Array,
  rank: number,
  world: number,
  link: RingLink,
  step: number,
  phase: Phase,
  segmentElements = DEFAULT_SEGMENT_ELEMENTS,
  times?: RingTimes,
  codec?: WireCodec,
): Promise<Float32Array> {
  if (world === 1) return buf;
  if (!Number.isInteger(segmentElements) || segmentElements < 1) throw new RangeError(`segmentElements must be a positive integer, got ${segmentElements}`);
  const n = world;
  const rounds = 2 * (n - 1);
  const reduceRounds = n - 1;
  // Round s sends chunk sendChunk(s) and receives into chunk sendChunk(s+1): what arrives is what goes on next.
  const sendChunk = (s: number): number => (s < reduceRounds ? mod(rank - s, n) : mod(rank + 1 - (s - reduceRounds), n));
  // Every round moves one chunk; chunks differ by at most one element, so use the largest for the segment count.
  const segments = segmentsPerChunk(buf.length, n, segmentElements);
  const bounds = (c: number, j: number): [number, number] => {
    const [a, b] = chunkBounds(buf.length, n, c);
    const [sa, sb] = chunkBounds(b - a, segments, j);
    return [a + sa, a + sb];
  };
  const segment = (c: number, j: number): Float32Array => buf.subarray(...bounds(c, j));
  const wire = codec && new Uint16Array(buf.length);
  const wireSegment = (c: number, j: number): Uint16Array => wire!.subarray(...bounds(c, j));
  const sends: Promise<void>[] = [];
  const send = (s: number, j: number, data: WireData): void => {
    const p = link.sendNext({ step, phase, seq: s * segments + j }, data);
    p.catch(() => undefined); // observed below; this only keeps an early failure from being "unhandled"
    sends.push(p);
  };
  const scale = 1 / n;
  for (let j = 0; j < segments; j++) {
    const own = segment(sendChunk(0), j);
    if (codec) codec.encode(own, wireSegment(sendChunk(0), j));
    send(0, j, codec ? wireSegment(sendChunk(0), j) : own);
  }
  for (let s = 0; s < rounds; s++) {
    for (let j = 0; j < segments; j++) {
      const incoming = await link.recvPrev({ step, phase, seq: s * segments + j });
      if (times && s === 0 && j === 0) times.firstArrival = performance.now();
      const c = sendChunk(s + 1);
      const target = segment(c, j);
      if (incoming.length !== target.length) throw new Error(`ring segment has ${incoming.length} elements, expected ${target.length}`);
      const next = codec ? stepCompressed(codec, s, reduceRounds, scale, target, incoming, wireSegment(c, j)) : stepPlain(s, reduceRounds, scale, target, incoming);
      if (s + 1 < rounds) send(s + 1, j, next);
    }
    if (times && s === reduceRounds - 1) times.reduceScatterEnd = performance.now();
  }
  await Promise.all(sends);
  return buf;
}
