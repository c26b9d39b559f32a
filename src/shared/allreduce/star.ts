import { ProtocolError } from '../errors.js';
import type { Phase } from '../protocol.js';

/**
 * The hub side of a star all-reduce: collects one buffer per rank for a
 * (step, phase) and, once all are in, returns their average. Sums in rank order,
 * so the result does not depend on arrival order.
 */
export class StarReducer {
  private pending = new Map<string, Array<Float32Array | undefined>>();

  constructor(private readonly world: number) {}

  /** Adds rank's contribution; returns the average when it was the last one missing. */
  add(step: number, phase: Phase, rank: number, data: Float32Array): Float32Array | undefined {
    if (rank < 0 || rank >= this.world) throw new ProtocolError(`gradient from rank ${rank} outside world of ${this.world}`);
    const key = `${step}/${phase}`;
    let slots = this.pending.get(key);
    if (!slots) {
      slots = new Array<Float32Array | undefined>(this.world).fill(undefined);
      this.pending.set(key, slots);
    }
    if (slots[rank]) throw new ProtocolError(`duplicate gradient from rank ${rank} for step ${step} phase ${phase}`);
    const first = slots.find((s) => s !== undefined);
    if (first && first.length !== data.length) {
      throw new ProtocolError(`rank ${rank} sent ${data.length} gradient elements for step ${step} phase ${phase}, others sent ${first.length}`);
    }
    slots[rank] = data;
    if (slots.some((s) => s === undefined)) return undefined;
    this.pending.delete(key);
    return averageInOrder(slots as Float32Array[]);
  }

  /** Ranks that have not contributed to (step, phase), for timeout messages. */
  missing(step: number, phase: Phase): number[] {
    const slots = this.pending.get(`${step}/${phase}`);
    const out: number[] = [];
    for (let r = 0; r < this.world; r++) if (!slots?.[r]) out.push(r);
    return out;
  }
}

/** Element-wise mean, summed in the given order. */
export function averageInOrder(buffers: Float32Array[]): Float32Array {
  const [first, ...rest] = buffers;
  if (!first) throw new RangeError('nothing to average');
  const out = Float32Array.from(first);
  for (const b of rest) for (let i = 0; i < out.length; i++) out[i]! += b[i]!;
  const scale = 1 / buffers.length;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return out;
}
