/**
 * An unbounded FIFO with one waiting taker at a time and a deadline on every
 * wait; a receive loop pushes, the consumer takes. It settles each wait once.
 */
export class Mailbox<T> {
  private items: T[] = [];
  private waiter: { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private closedWith: Error | undefined;

  push(item: T): void {
    if (this.closedWith) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.resolve(item);
    } else {
      this.items.push(item);
    }
  }

  get size(): number {
    return this.items.length;
  }

  take(timeoutMs: number, onTimeout: () => Error): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.waiter) return Promise.reject(new Error('Mailbox: a take is already pending'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(onTimeout());
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  /** Fails the pending and all future takes with `err`. */
  close(err: Error): void {
    this.closedWith = err;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
