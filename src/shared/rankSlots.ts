import { ProtocolError } from './errors.js';

/**
 * One slot per rank for each key (a step, or a step's phase): collects what
 * every rank sends for that key and hands it back in rank order once the last
 * one is in. The star all-reduce's hub and the coordinator's step reports both
 * wait like this.
 */
export class RankSlots<K, V> {
  private readonly pending = new Map<K, Array<V | undefined>>();
  /** Values in per key: the last arrival is found by a count, not a scan of every slot (O(world) per value, O(world²) per key). */
  private readonly filled = new Map<K, number>();

  /** `what` names a value in errors ("gradient", "step report"); `label` names a key. */
  constructor(readonly world: number, private readonly what: string, private readonly label: (key: K) => string) {}

  /** Stores rank's value; all values, in rank order, when it was the last one missing. */
  add(key: K, rank: number, value: V): V[] | undefined {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.world) throw new ProtocolError(`${this.what} from rank ${rank} outside world of ${this.world}`);
    let slots = this.pending.get(key);
    if (!slots) {
      slots = new Array<V | undefined>(this.world).fill(undefined);
      this.pending.set(key, slots);
    }
    if (slots[rank] !== undefined) throw new ProtocolError(`duplicate ${this.what} from rank ${rank} for ${this.label(key)}`);
    slots[rank] = value;
    const filled = (this.filled.get(key) ?? 0) + 1;
    if (filled < this.world) {
      this.filled.set(key, filled);
      return undefined;
    }
    this.pending.delete(key);
    this.filled.delete(key);
    return slots as V[];
  }

  /** Some value already in for `key`, to check a newcomer against. */
  any(key: K): V | undefined {
    return this.pending.get(key)?.find((s) => s !== undefined);
  }

  /** Removes `key` and returns what is in, with each value's rank (empty if nothing). */
  take(key: K): Array<{ rank: number; value: V }> {
    const slots = this.pending.get(key) ?? [];
    this.pending.delete(key);
    this.filled.delete(key);
    return slots.flatMap((value, rank) => (value === undefined ? [] : [{ rank, value }]));
  }

  /** Ranks that have not sent a value for `key`. */
  missing(key: K): number[] {
    const slots = this.pending.get(key);
    const out: number[] = [];
    for (let r = 0; r < this.world; r++) if (slots?.[r] === undefined) out.push(r);
    return out;
  }
}
