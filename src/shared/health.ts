import type { Health } from './transport/httpServer.js';

/**
 * What `/healthz` answers: the process's state, and unhealthy when training
 * has made no progress for longer than `stallMs` (a hung peer, a dead link).
 */
export class HealthState {
  private ok = false;
  private reason = 'starting';
  private training = false;
  private lastProgress = 0;

  constructor(public stallMs: number, private readonly now: () => number = () => performance.now()) {}

  set(ok: boolean, reason: string, training = false): void {
    this.ok = ok;
    this.reason = reason;
    this.training = training;
    this.lastProgress = this.now();
  }

  progress(reason: string): void {
    this.reason = reason;
    this.lastProgress = this.now();
  }

  check(): Health {
    if (this.ok && this.training) {
      const idle = this.now() - this.lastProgress;
      if (idle > this.stallMs) return { ok: false, reason: `no progress for ${(idle / 1000).toFixed(0)} s (last: ${this.reason})` };
    }
    return { ok: this.ok, reason: this.reason };
  }
}
