import { type SlotAverage, averageSlotsJs } from './sharedMemoryReduce.js';

/**
 * The average not formed yet: each value is averageSlots(parts) (sharedMemoryReduce.ts: the parts added left
 * to right in float32, then one multiply by `factor`). Ranks that share memory hand each other their slots
 * this way, and the native update forms the average as it applies it instead of writing and reading it back.
 */
export interface PendingAverage {
  readonly parts: readonly Float32Array[];
  readonly factor: number;
  /** How to form it here (the addon's averageSlots where it has one); averageSlotsJs when absent. */
  readonly form?: SlotAverage;
}

/** An all-reduce's result: the averaged values, or the parts they are the average of. */
export type Averaged = Float32Array | PendingAverage;

/** Values [start, end) of the average: a view where it is formed, else formed into `into` (of end − start floats) or a new array. */
export function averagedRange(avg: Averaged, start: number, end: number, into?: Float32Array): Float32Array {
  if (avg instanceof Float32Array) return avg.subarray(start, end);
  if (into && into.length !== end - start) throw new RangeError(`averagedRange: ${into.length} floats to form ${end - start} into`);
  const out = into ?? new Float32Array(end - start);
  (avg.form ?? averageSlotsJs)(out, avg.parts.map((p) => p.subarray(start, end)), avg.factor);
  return out;
}

/** How many values the average holds. */
export function averagedLength(avg: Averaged): number {
  return avg instanceof Float32Array ? avg.length : avg.parts[0]?.length ?? 0;
}

/** The parts and factor of the average: the values themselves with factor 1 when it is formed (the native update's input). */
export function averageParts(avg: Averaged, end: number): { parts: Float32Array[]; factor: number } {
  if (avg instanceof Float32Array) return { parts: [avg.subarray(0, end)], factor: 1 };
  return { parts: avg.parts.map((p) => p.subarray(0, end)), factor: avg.factor };
}
