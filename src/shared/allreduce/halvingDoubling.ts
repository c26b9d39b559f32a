import type { Phase } from '../protocol.js';
import type { PeerLink } from './peerLink.js';
import { DEFAULT_SEGMENT_ELEMENTS, type RingTimes, chunkBounds, scaleInPlace } from './ring.js';
import { halvingDoublingPlan, segmentsPerMessage } from './halvingDoublingPlan.js';

export { halvingDoublingPlan } from './halvingDoublingPlan.js';

/** Rank → its place among the p ranks that halve and double, or undefined for a rank folded away (even ranks below 2·excess). */
export function virtualRank(rank: number, excess: number): number | undefined {
  if (rank < 2 * excess) return rank % 2 === 1 ? (rank - 1) / 2 : undefined;
  return rank - excess;
}

function realRank(vrank: number, excess: number): number {
  return vrank < excess ? 2 * vrank + 1 : vrank + excess;
}

function addInto(target: Float32Array, incoming: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i]! += incoming[i]!;
}

/**
 * Recursive halving-doubling all-reduce (Rabenseifner's algorithm), averaging
 * `buf` in place across `world` ranks: a reduce-scatter by recursive halving
 * (each round a rank swaps half of its range with a partner at distance
 * p/2, p/4, …, 1 and adds the half it keeps), then an all-gather by recursive
 * doubling (the same partners in reverse order). 2·log2 p rounds instead of the
 * ring's 2(N−1), the same bytes for a power of two. For other N, the excess
 * ranks fold their buffer into a neighbour first and get the result back last
 * (MPICH's way).
 *
 * As in the ring, each of the p blocks is summed in one place and averaged once
 * by the rank that owns it, then copied: every rank ends with identical bits.
 * Zero-copy is safe for the same reason: a region sent in halving round k is
 * overwritten only by the partner's doubling message, which follows its
 * receipt of it; a folded rank's buffer comes back only after its partner took it.
 * The last messages may still be in flight when this resolves (see ringAllReduce).
 */
export async function halvingDoublingAllReduce(
  buf: Float32Array,
  rank: number,
  world: number,
  link: PeerLink,
  step: number,
  phase: Phase,
  segmentElements = DEFAULT_SEGMENT_ELEMENTS,
  times?: RingTimes,
): Promise<Float32Array> {
  if (world === 1) return buf;
  if (!Number.isInteger(segmentElements) || segmentElements < 1) throw new RangeError(`segmentElements must be a positive integer, got ${segmentElements}`);
  const { p, levels, excess } = halvingDoublingPlan(world);
  const perMessage = segmentsPerMessage(buf.length, segmentElements);
  const sends: Promise<void>[] = [];
  const pieces = (from: number, to: number): Float32Array[] => {
    const region = buf.subarray(from, to);
    const count = Math.max(1, Math.ceil(region.length / segmentElements));
    return Array.from({ length: count }, (_, j) => region.subarray(j * segmentElements, Math.min(region.length, (j + 1) * segmentElements)));
  };
  const sendRegion = (to: number, round: number, from: number, end: number): void => {
    pieces(from, end).forEach((piece, j) => {
      const sent = link.send(to, { step, phase, seq: round * perMessage + j }, piece);
      sent.catch(() => undefined); // observed below; this only keeps an early failure from being "unhandled"
      sends.push(sent);
    });
  };
  const recvRegion = async (from: number, round: number, start: number, end: number, combine: (target: Float32Array, incoming: Float32Array) => void): Promise<void> => {
    const targets = pieces(start, end);
    for (let j = 0; j < targets.length; j++) {
      const incoming = await link.recv(from, { step, phase, seq: round * perMessage + j });
      const target = targets[j]!;
      if (!(incoming instanceof Float32Array)) throw new Error(`halving-doubling segment from rank ${from} is 16-bit: halving-doubling carries float32 only`);
      if (incoming.length !== target.length) throw new Error(`halving-doubling segment from rank ${from} has ${incoming.length} elements, expected ${target.length}`);
      combine(target, incoming);
      if (times && times.firstArrival === undefined) times.firstArrival = performance.now();
    }
  };
  const copy = (target: Float32Array, incoming: Float32Array): void => target.set(incoming);
  const unfoldRound = 2 * levels + 1;
  const vrank = virtualRank(rank, excess);

  if (vrank === undefined) {
    // Folded: hand the whole buffer to the odd neighbour, then wait for the result.
    sendRegion(rank + 1, 0, 0, buf.length);
    await recvRegion(rank + 1, unfoldRound, 0, buf.length, copy);
    if (times) times.reduceScatterEnd ??= performance.now();
    await Promise.all(sends);
    return buf;
  }
  if (rank < 2 * excess) await recvRegion(rank - 1, 0, 0, buf.length, addInto);

  // Reduce-scatter by halving: the block range [lo, hi) of p blocks shrinks to this rank's one block.
  const blockStart = (b: number): number => chunkBounds(buf.length, p, b)[0];
  let lo = 0;
  let hi = p;
  const history: { partner: number; keep: [number, number]; give: [number, number] }[] = [];
  for (let level = 0, mask = p >> 1; mask >= 1; level++, mask >>= 1) {
    const partner = realRank(vrank ^ mask, excess);
    const mid = (lo + hi) / 2;
    const lower: [number, number] = [lo, mid];
    const upper: [number, number] = [mid, hi];
    const [keep, give] = vrank & mask ? [upper, lower] : [lower, upper];
    sendRegion(partner, 1 + level, blockStart(give[0]), blockStart(give[1]));
    await recvRegion(partner, 1 + level, blockStart(keep[0]), blockStart(keep[1]), addInto);
    history.push({ partner, keep, give });
    [lo, hi] = keep;
  }
  // This rank holds the full sum of block lo: average it once, here.
  scaleInPlace(buf.subarray(blockStart(lo), blockStart(hi)), 1 / world);
  if (times) times.reduceScatterEnd = performance.now();

  // All-gather by doubling: the partners of the halving in reverse order; each sends what it holds, receives the rest.
  for (let level = levels - 1; level >= 0; level--) {
    const { partner, keep, give } = history[level]!;
    const round = 2 * levels - level;
    sendRegion(partner, round, blockStart(keep[0]), blockStart(keep[1]));
    await recvRegion(partner, round, blockStart(give[0]), blockStart(give[1]), copy);
  }
  if (rank < 2 * excess) sendRegion(rank - 1, unfoldRound, 0, buf.length);
  await Promise.all(sends);
  return buf;
}
