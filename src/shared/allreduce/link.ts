import type { Phase } from '../protocol.js';
import type { WireData } from './compression.js';
import { halvingDoublingLimits } from './halvingDoublingPlan.js';
import { sharedMemoryLimits } from './sharedMemoryPlan.js';

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
  sendNext(tag: ChunkTag, data: WireData): Promise<void>;
  /** The predecessor's chunk with this tag (float32, or 16-bit under --compression); rejects if it does not arrive in time. */
  recvPrev(tag: ChunkTag): Promise<WireData>;
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
 * How many steps ahead of this rank's progress a predecessor's chunk can be.
 * A rank cannot finish a step's all-reduce without this rank taking part, so a
 * predecessor sends step k+1 only once this rank has taken chunks of step k:
 * one step; two leaves a margin. --prefetch does not change it.
 */
export const STEPS_AHEAD = 2;

/** Why a chunk of `step` is further ahead of step `base` than a predecessor can be, if so. */
export function tooFarAhead(step: number, base: number): string | undefined {
  return step > base + STEPS_AHEAD ? `more than ${STEPS_AHEAD} steps ahead of step ${base}` : undefined;
}

/**
 * Why an arriving chunk cannot be one this rank will still ask for, if so:
 * at or before the last tag it took (or in a step done before a resumed run
 * began), or further ahead than a predecessor can be.
 */
export function outOfWindow(tag: ChunkTag, lastTaken: ChunkTag | undefined, stepsDone = 0): string | undefined {
  if (lastTaken && compareTags(tag, lastTaken) <= 0) return `stale ${describeTag(tag)} (already past ${describeTag(lastTaken)})`;
  if (tag.step <= stepsDone) return `stale ${describeTag(tag)} (step ${stepsDone} was done before this run started)`;
  const ahead = tooFarAhead(tag.step, lastTaken?.step ?? stepsDone);
  return ahead && `${describeTag(tag)} is ${ahead}`;
}

export function describeTag(t: ChunkTag): string {
  return `step ${t.step} phase ${t.phase} chunk ${t.seq}`;
}

/** What a rank's all-reduces move: it fixes which chunks can exist and how many bytes can wait. */
export interface RingLayout {
  /** The longest buffer each phase reduces (floats). */
  lengths: Record<Phase, number>;
  /** Floats per pipeline segment (ringAllReduce's segmentElements). */
  segmentElements: number;
  /** The most ranks a generation can have. */
  maxWorld: number;
  /** Halving-doubling may run too (--allreduce rhd or auto): its sequence numbers and message sizes are admitted as well. */
  peerToPeer?: boolean;
  /** --allreduce shm or auto: the shared-memory all-reduce's barrier messages are admitted as well (sharedMemoryReduce.ts). */
  sharedMemory?: boolean;
  /** --allreduce auto: the start-up probe's messages, which come before the chunks of a generation's first all-reduce. */
  probe?: { messages: number; elements: number };
}

/** Segments per chunk when `length` floats are reduced over `world` ranks (as ringAllReduce cuts them). */
export function segmentsPerChunk(length: number, world: number, segmentElements: number): number {
  return Math.max(1, Math.ceil(Math.ceil(length / world) / segmentElements));
}

/**
 * One phase's chunks in a world, for any buffer of up to `length` floats: how
 * many (sequence numbers 0..count-1; more segments for a longer buffer), and the
 * most floats one holds (a segment, or a whole chunk when that is shorter).
 */
export function chunkLimits(length: number, world: number, segmentElements: number): { count: number; elements: number } {
  return { count: 2 * (world - 1) * segmentsPerChunk(length, world, segmentElements), elements: Math.min(segmentElements, Math.ceil(length / world)) };
}

/** The chunk limits of a phase for `world` ranks, or for any world of the layout when unknown (a later generation). */
function limitsFor(layout: RingLayout, phase: Phase, world: number | undefined): { count: number; elements: number } {
  const worlds = world === undefined ? Array.from({ length: Math.max(0, layout.maxWorld - 1) }, (_, i) => i + 2) : [world];
  const all = worlds.flatMap((w) => [
    chunkLimits(layout.lengths[phase], w, layout.segmentElements),
    ...(layout.peerToPeer ? [halvingDoublingLimits(layout.lengths[phase], w, layout.segmentElements)] : []),
    ...(layout.sharedMemory ? [sharedMemoryLimits(w)] : []),
  ]);
  const probe = layout.probe ?? { messages: 0, elements: 0 };
  return { count: probe.messages + Math.max(0, ...all.map((l) => l.count)), elements: Math.max(probe.elements, ...all.map((l) => l.elements)) };
}

/**
 * The most bytes of chunks that can legitimately wait, per generation: every
 * chunk of the steps a window spans, in the world that moves the most.
 */
export function windowBytes(layout: RingLayout): number {
  const perStep = (['d', 'g'] as const).reduce((sum, phase) => {
    const { count, elements } = limitsFor(layout, phase, undefined);
    return sum + count * elements * Float32Array.BYTES_PER_ELEMENT;
  }, 0);
  return (STEPS_AHEAD + 1) * perStep;
}

/** Where this rank's ring stands, as far as arriving chunks are concerned. */
export interface RingPosition {
  gen: number;
  /** Ranks in this generation. */
  world: number;
  lastTaken: ChunkTag | undefined;
  /** Steps completed before this generation started. */
  stepsDone: number;
}

/**
 * Why an arriving chunk is refused, if so; the one rule for what the early-chunk
 * store keeps. Before the layout is known no all-reduce can be under way. A chunk
 * of an older generation is stale; one of this generation must be in the window
 * and in this world's chunks; one of a later generation (a peer that started it
 * first) must be in some world's chunks and, once this rank knows its progress,
 * not too far ahead of it. `parkedBytes` already wait for the chunk's generation
 * (this one, or all later ones together): with this chunk they must fit
 * windowBytes. Which chunk is forged is CURVE's business, not this rule's.
 */
export function chunkRefusal(chunk: ChunkTag & { gen: number; elements: number }, at: RingPosition, layout: RingLayout | undefined, parkedBytes: number): string | undefined {
  const what = `${describeTag(chunk)} of generation ${chunk.gen}`;
  if (!layout) return `${what}: no all-reduce expected yet`;
  if (chunk.gen < at.gen) return `stale ${what} (now ${at.gen})`;
  const current = chunk.gen === at.gen;
  const { count, elements } = limitsFor(layout, chunk.phase, current ? at.world : undefined);
  if (chunk.seq >= count) return `${what}: an all-reduce has only ${count} chunks`;
  if (chunk.elements > elements) return `${what} holds ${chunk.elements} floats, more than the ${elements} of the largest chunk`;
  if (current) {
    const why = outOfWindow(chunk, at.lastTaken, at.stepsDone);
    if (why) return why;
  } else if (at.gen > 0) {
    // A new generation resumes at or before this rank's progress (before its first one, a rank knows none).
    const ahead = tooFarAhead(chunk.step, at.lastTaken?.step ?? at.stepsDone);
    if (ahead) return `${what} is ${ahead}`;
  }
  const limit = windowBytes(layout);
  if (parkedBytes + chunk.elements * Float32Array.BYTES_PER_ELEMENT > limit) return `${what}: ${parkedBytes} bytes already wait, at most ${limit}`;
  return undefined;
}
