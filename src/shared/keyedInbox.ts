/**
 * Messages that arrive ahead of need (prefetched batches, reduced gradients),
 * parked by key until the consumer asks for that key. Every wait has a deadline
 * and settles once; close() fails all current and future waits.
 */
export class KeyedInbox<K, V> {
  private readonly ready = new Map<K, V>();
  private readonly waiters = new Map<K, { resolve: (v: V) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private closedWith: Error | undefined;

  /** Returns false if the key already holds an unclaimed value (a duplicate). */
  put(key: K, value: V): boolean {
    if (this.closedWith) return false;
    const w = this.waiters.get(key);
    if (w) {
      this.waiters.delete(key);
      clearTimeout(w.timer);
      w.resolve(value);
      return true;
    }
    if (this.ready.has(key)) return false;
    this.ready.set(key, value);
    return true;
  }

  get size(): number {
    return this.ready.size;
  }

  take(key: K, timeoutMs: number, onTimeout: () => Error): Promise<V> {
    if (this.ready.has(key)) {
      const v = this.ready.get(key) as V;
      this.ready.delete(key);
      return Promise.resolve(v);
    }
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.waiters.has(key)) return Promise.reject(new Error(`KeyedInbox: already waiting for ${String(key)}`));
    return new Promise<V>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(onTimeout());
      }, timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
    });
  }

  /** Fails the current waits whose key matches, leaving parked values and later waits alone. */
  rejectWaiting(matches: (key: K) => boolean, err: Error): void {
    for (const [key, w] of this.waiters) {
      if (!matches(key)) continue;
      this.waiters.delete(key);
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  /** Discards parked values whose key matches (they belong to an abandoned generation). */
  prune(matches: (key: K) => boolean): void {
    for (const key of [...this.ready.keys()]) if (matches(key)) this.ready.delete(key);
  }

  close(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters.clear();
    this.ready.clear();
  }
}
