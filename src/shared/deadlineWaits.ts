/**
 * Waits by key, each with a deadline, each settled once: by a value, an error or
 * its deadline. After close() every current and later wait fails. The part that
 * Mailbox and KeyedInbox share; they decide what is parked.
 */
export class DeadlineWaits<K, V> {
  private readonly waits = new Map<K, { resolve: (v: V) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private closed: Error | undefined;

  get closedWith(): Error | undefined {
    return this.closed;
  }

  /** Waits for `key`; fails at once when closed, or with `busy()` when `key` is already waited for. */
  wait(key: K, timeoutMs: number, onTimeout: () => Error, busy: () => Error): Promise<V> {
    if (this.closed) return Promise.reject(this.closed);
    if (this.waits.has(key)) return Promise.reject(busy());
    return new Promise<V>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waits.delete(key);
        reject(onTimeout());
      }, timeoutMs);
      this.waits.set(key, { resolve, reject, timer });
    });
  }

  /** Hands `value` to the wait for `key`; false if nobody waits for it. */
  resolve(key: K, value: V): boolean {
    const w = this.waits.get(key);
    if (!w) return false;
    this.waits.delete(key);
    clearTimeout(w.timer);
    w.resolve(value);
    return true;
  }

  /** Fails the current waits whose key matches; later waits go on as usual. */
  reject(matches: (key: K) => boolean, err: Error): void {
    for (const [key, w] of this.waits) {
      if (!matches(key)) continue;
      this.waits.delete(key);
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  /** Fails every current and later wait with `err`; false if already closed. */
  close(err: Error): boolean {
    if (this.closed) return false;
    this.closed = err;
    this.reject(() => true, err);
    return true;
  }
}
