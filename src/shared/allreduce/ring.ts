import type { Phase } from '../protocol.js';
import type { RingLink } from './link.js';

/** Bounds of chunk i when `length` elements are cut into `n` nearly equal chunks (any length, empty chunks allowed). */
export function chunkBounds(length: number, n: number, i: number): [number, number] {
  return [Math.floor((i * length) / n), Math.floor(((i + 1) * length) / n)];
}

const mod = (a: number, n: number): number => ((a % n) + n) % n;

/**
 * Ring all-reduce (reduce-scatter, then all-gather), averaging `buf` in place
 * across `world` ranks. Each rank sends and receives 2(N-1)/N of the buffer,
 * whatever N. The average of each chunk is computed once, by the rank that owns
 * it, and then copied around the ring, so every rank ends with identical bits.
 */
export async function ringAllReduce(buf: Float32Array, rank: number, world: number, link: RingLink, step: number, phase: Phase): Promise<Float32Array> {
  if (world === 1) return buf;
  const n = world;
  const chunk = (i: number): Float32Array => {
    const [a, b] = chunkBounds(buf.length, n, i);
    return buf.subarray(a, b);
  };
  let seq = 0;
  // Reduce-scatter: after N-1 rounds rank r holds the full sum of chunk r+1.
  for (let s = 0; s < n - 1; s++) {
    const tag = { step, phase, seq: seq++ };
    const [, incoming] = await Promise.all([link.sendNext(tag, chunk(mod(rank - s, n))), link.recvPrev(tag)]);
    const target = chunk(mod(rank - s - 1, n));
    if (incoming.length !== target.length) throw new Error(`ring chunk has ${incoming.length} elements, expected ${target.length}`);
    for (let i = 0; i < target.length; i++) target[i]! += incoming[i]!;
  }
  const owned = chunk(mod(rank + 1, n));
  const scale = 1 / n;
  for (let i = 0; i < owned.length; i++) owned[i]! *= scale;
  // All-gather: pass the averaged chunks around.
  for (let s = 0; s < n - 1; s++) {
    const tag = { step, phase, seq: seq++ };
    const [, incoming] = await Promise.all([link.sendNext(tag, chunk(mod(rank + 1 - s, n))), link.recvPrev(tag)]);
    const target = chunk(mod(rank - s, n));
    if (incoming.length !== target.length) throw new Error(`ring chunk has ${incoming.length} elements, expected ${target.length}`);
    target.set(incoming);
  }
  return buf;
}
