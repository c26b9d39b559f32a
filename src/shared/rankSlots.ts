import { ProtocolError } from './errors.js';

/**
 * One slot per rank for each key (a step, or a step's phase): collects what
 * every rank sends for that key and hands it back in rank order once the last
 * one is in. The star all-reduce's hub and the coordinator's step reports both
 * wait like this.
 */
export class RankSlots<K, V> {
  /** Per key: one slot per rank, and how many are filled (the last arrival is found by the count, not by scanning every slot). */
  private readonly pending = new Map<K, { slots: Array<V | undefined>; filled: number }>();

  /** `what` names a value in errors ("gradient", "step report"); `label` names a key. */
  constructor(readonly world: number, private readonly what: string, private readonly label: (key: K) => string) {}

  /** Stores rank's value; all values, in rank order, when it was the last one missing. */
  add(key: K, rank: number, value: V): V[] | undefined {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.world) throw new ProtocolError(`${this.what} from rank ${rank} outside world of ${this.world}`);
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { slots: new Array<V | undefined>(this.world).fill(undefined), filled: 0 };
      this.pending.set(key, entry);
    }
    if (entry.slots[rank] !== undefined) throw new ProtocolError(`duplicate ${this.what} from rank ${rank} for ${this.label(key)}`);
    entry.slots[rank] = value;
    if (++entry.filled < this.world) return undefined;
    this.pending.delete(key);
    return entry.slots as V[];
  }

  /** Some value already in for `key`, to check a newcomer against. */
  any(key: K): V | undefined {
    return this.pending.get(key)?.slots.find((s) => s !== undefined);
  }

  /** Removes `key` and returns what is in, with each value's rank (empty if nothing). */
  take(key: K): Array<{ rank: number; value: V }> {
    const slots = this.pending.get(key)?.slots ?? [];
    this.pending.delete(key);
    return slots.flatMap((value, rank) => (value === undefined ? [] : [{ rank, value }]));
  }

  /** Ranks that have not sent a value for `key`. */
  missing(key: K): number[] {
    const slots = this.pending.get(key)?.slots;
    const out: number[] = [];
    for (let r = 0; r < this.world; r++) if (slots?.[r] === undefined) out.push(r);
    return out;
  }
}
