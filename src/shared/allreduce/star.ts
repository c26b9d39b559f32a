import { ProtocolError } from '../errors.js';
import type { Phase } from '../protocol.js';
import { RankSlots } from '../rankSlots.js';
import { type WireCodec, type WireData, fromWire } from './compression.js';

/**
 * The hub side of a star all-reduce: collects one buffer per rank for a
 * (step, phase) and, once all are in, returns their average. Sums in rank order,
 * so the result does not depend on arrival order. With a codec (--compression)
 * contributions arrive as 16-bit values, are summed in float32, and the average
 * is rounded once into the 16-bit encoding every rank applies.
 */
export class StarReducer {
  private readonly slots: RankSlots<string, Float32Array>;

  constructor(world: number, private readonly codec?: WireCodec) {
    this.slots = new RankSlots(world, 'gradient', (key) => `step ${key.replace('/', ' phase ')}`);
  }

  /** Adds rank's contribution; returns the average when it was the last one missing. */
  add(step: number, phase: Phase, rank: number, wire: WireData): WireData | undefined {
    const key = `${step}/${phase}`;
    const data = fromWire(wire, this.codec, `rank ${rank}'s gradients for step ${step} phase ${phase}`);
    const first = this.slots.any(key);
    if (first && first.length !== data.length) {
      throw new ProtocolError(`rank ${rank} sent ${data.length} gradient elements for step ${step} phase ${phase}, others sent ${first.length}`);
    }
    const all = this.slots.add(key, rank, data);
    if (!all) return undefined;
    const avg = averageInOrder(all);
    if (!this.codec) return avg;
    const out = new Uint16Array(avg.length);
    this.codec.encode(avg, out);
    return out;
  }

  /** Ranks that have not contributed to (step, phase), for timeout messages. */
  missing(step: number, phase: Phase): number[] {
    return this.slots.missing(`${step}/${phase}`);
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
