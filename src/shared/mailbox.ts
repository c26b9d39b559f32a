import { DeadlineWaits } from './deadlineWaits.js';

/**
 * An unbounded FIFO with one waiting taker at a time and a deadline on every
 * wait; a receive loop pushes, the consumer takes. It settles each wait once.
 */
export class Mailbox<T> {
  private readonly items: T[] = [];
  private readonly waits = new DeadlineWaits<'take', T>();

  push(item: T): void {
    if (this.waits.closedWith) return;
    if (!this.waits.resolve('take', item)) this.items.push(item);
  }

  get size(): number {
    return this.items.length;
  }

  take(timeoutMs: number, onTimeout: () => Error): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return this.waits.wait('take', timeoutMs, onTimeout, () => new Error('Mailbox: a take is already pending'));
  }

  /** Fails the pending and all future takes with `err`. */
  close(err: Error): void {
    this.waits.close(err);
  }
}
