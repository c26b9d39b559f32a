import type { Phase } from '../protocol.js';

/** Identifies one transfer of one collective, so a stray or late chunk is never mistaken for the expected one. */
export interface ChunkTag {
  step: number;
  phase: Phase;
  seq: number;
}

/**
 * The contract between the ring algorithm and a transport: a directed ring where
 * each rank sends to its successor and receives from its predecessor. Messages
 * from the predecessor arrive in the order they were sent.
 */
export interface RingLink {
  /**
   * Sends `data`, possibly without copying it: the transport may read the bytes
   * until the successor has them. Sends leave in call order, and many may be in
   * flight. A caller may rewrite the region only once it has received a message
   * that could not exist unless the successor had already taken this one.
   */
  sendNext(tag: ChunkTag, data: Float32Array): Promise<void>;
  /** The predecessor's chunk with this tag; rejects if it does not arrive in time. */
  recvPrev(tag: ChunkTag): Promise<Float32Array>;
}

export function sameTag(a: ChunkTag, b: ChunkTag): boolean {
  return a.step === b.step && a.phase === b.phase && a.seq === b.seq;
}

const PHASE_ORDER: Record<Phase, number> = { d: 0, g: 1 };

/** The order in which a rank consumes tags: by step, then phase (d before g), then sequence number. */
export function compareTags(a: ChunkTag, b: ChunkTag): number {
  return a.step - b.step || PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] || a.seq - b.seq;
}

/**
 * Why an arriving chunk cannot be one this rank will still ask for, if so:
 * at or before the last tag it took (or in a step done before a resumed run
 * began), or further ahead than a predecessor can be (it cannot finish a
 * step's all-reduce without this rank).
 */
export function outOfWindow(tag: ChunkTag, lastTaken: ChunkTag | undefined, stepsAhead: number, stepsDone = 0): string | undefined {
  if (lastTaken && compareTags(tag, lastTaken) <= 0) return `stale ${describeTag(tag)} (already past ${describeTag(lastTaken)})`;
  if (tag.step <= stepsDone) return `stale ${describeTag(tag)} (step ${stepsDone} was done before this run started)`;
  const base = lastTaken?.step ?? stepsDone;
  if (tag.step > base + stepsAhead) return `${describeTag(tag)} is more than ${stepsAhead} steps ahead of step ${base}`;
  return undefined;
}

export function describeTag(t: ChunkTag): string {
  return `step ${t.step} phase ${t.phase} chunk ${t.seq}`;
}
