/**
 * When each worker (by id) was last heard from, and which have been silent too
 * long. Pure: the caller supplies the clock.
 */
export class Liveness {
  private readonly last = new Map<number, number>();

  constructor(private readonly timeoutMs: number) {}

  /** Starts watching `id` as if just heard from (a new generation gives everyone a fresh start). */
  track(id: number, now: number): void {
    this.last.set(id, now);
  }

  forget(id: number): void {
    this.last.delete(id);
  }

  seen(id: number, now: number): void {
    const t = this.last.get(id);
    if (t !== undefined) this.last.set(id, Math.max(t, now));
  }

  /** How long ago each of these workers was last heard from, in ms (0 if not watched). */
  ages(ids: number[], now: number): number[] {
    return ids.map((id) => now - (this.last.get(id) ?? now));
  }

  /** Workers silent for longer than the timeout, longest first. */
  silent(now: number): Array<{ id: number; ms: number }> {
    return [...this.last].flatMap(([id, t]) => (now - t > this.timeoutMs ? [{ id, ms: now - t }] : [])).sort((a, b) => b.ms - a.ms);
  }
}
