import { DeadlineWaits } from './deadlineWaits.js';

/**
 * Messages that arrive ahead of need (prefetched batches, reduced gradients,
 * ring chunks), parked by key until the consumer asks for that key. Every wait
 * has a deadline and settles once; close() fails all current and future waits.
 * With `weigh`, it keeps the total weight (bytes) of what is parked.
 */
export class KeyedInbox<K, V> {
  private readonly ready = new Map<K, V>();
  private readonly waits = new DeadlineWaits<K, V>();
  private parkedWeight = 0;

  constructor(private readonly weigh: (value: V) => number = () => 0) {}

  /** Returns false if the key already holds an unclaimed value (a duplicate). */
  put(key: K, value: V): boolean {
    if (this.waits.closedWith) return false;
    if (this.waits.resolve(key, value)) return true;
    if (this.ready.has(key)) return false;
    this.ready.set(key, value);
    this.parkedWeight += this.weigh(value);
    return true;
  }

  get size(): number {
    return this.ready.size;
  }

  /** The weight of the values parked whose key matches (all by default). */
  weight(matches?: (key: K) => boolean): number {
    if (!matches) return this.parkedWeight;
    let w = 0;
    for (const [key, value] of this.ready) if (matches(key)) w += this.weigh(value);
    return w;
  }

  take(key: K, timeoutMs: number, onTimeout: () => Error): Promise<V> {
    if (this.ready.has(key)) return Promise.resolve(this.unpark(key));
    return this.waits.wait(key, timeoutMs, onTimeout, () => new Error(`KeyedInbox: already waiting for ${String(key)}`));
  }

  private unpark(key: K): V {
    const v = this.ready.get(key) as V;
    this.ready.delete(key);
    this.parkedWeight -= this.weigh(v);
    return v;
  }

  /** Fails the current waits whose key matches, leaving parked values and later waits alone. */
  rejectWaiting(matches: (key: K) => boolean, err: Error): void {
    this.waits.reject(matches, err);
  }

  /** Discards parked values whose key matches (they belong to an abandoned generation). */
  prune(matches: (key: K) => boolean): void {
    for (const key of [...this.ready.keys()]) if (matches(key)) this.unpark(key);
  }

  close(err: Error): void {
    if (!this.waits.close(err)) return;
    this.ready.clear();
    this.parkedWeight = 0;
  }
}
