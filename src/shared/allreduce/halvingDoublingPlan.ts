/**
 * The shape of a halving-doubling all-reduce, apart from the algorithm (the
 * chunk admission rule in link.ts needs it too): p = the largest power of two
 * ≤ world ranks halve and double; the first 2(world−p) ranks pair up and fold.
 */
export interface HalvingDoublingPlan {
  /** Ranks that take part in the halving and doubling (a power of two). */
  p: number;
  /** Rounds of halving (and of doubling): log2 p. */
  levels: number;
  /** Ranks folded into a partner first and sent the result last: world − p. */
  excess: number;
}

export function halvingDoublingPlan(world: number): HalvingDoublingPlan {
  if (!Number.isInteger(world) || world < 1) throw new RangeError(`world must be a positive integer, got ${world}`);
  let p = 1;
  let levels = 0;
  while (p * 2 <= world) {
    p *= 2;
    levels++;
  }
  return { p, levels, excess: world - p };
}

/** Segments of the largest message (a fold's whole buffer): a message's sequence numbers are round · this + segment. */
export function segmentsPerMessage(length: number, segmentElements: number): number {
  return Math.max(1, Math.ceil(length / segmentElements));
}

/** One phase's messages in halving-doubling, as chunkLimits gives the ring's: sequence numbers 0..count−1, the most floats one holds. */
export function halvingDoublingLimits(length: number, world: number, segmentElements: number): { count: number; elements: number } {
  if (world === 1) return { count: 0, elements: 0 };
  const { levels } = halvingDoublingPlan(world);
  return { count: (2 * levels + 2) * segmentsPerMessage(length, segmentElements), elements: Math.min(segmentElements, length) };
}
