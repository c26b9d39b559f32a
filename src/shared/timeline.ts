/** The phases of a worker's step that a timeline shows, in order. */
export const SPAN_NAMES = ['data wait', 'forward/backward', 'reduce-scatter', 'all-gather', 'all-reduce', 'apply'] as const;
export type SpanName = (typeof SPAN_NAMES)[number];

interface SpanLike {
  name: SpanName;
  phase?: 'd' | 'g' | undefined;
  /** Microseconds since the Unix epoch. */
  start: number;
  dur: number;
}

/** Microseconds since the Unix epoch for a `performance.now()` reading: comparable across processes on a host. */
export function epochMicros(perfNowMs: number): number {
  return Math.round((performance.timeOrigin + perfNowMs) * 1000);
}

/**
 * Collects the spans of one step on a worker. Spans are only kept when enabled,
 * so a run without --timeline pays one branch per phase.
 */
export class SpanRecorder {
  private spans: SpanLike[] = [];

  constructor(readonly enabled: boolean) {}

  /** Records [startMs, endMs) in performance.now() time. */
  add(name: SpanName, startMs: number, endMs: number, phase?: 'd' | 'g'): void {
    if (!this.enabled) return;
    this.spans.push({ name, ...(phase ? { phase } : {}), start: epochMicros(startMs), dur: Math.max(0, Math.round((endMs - startMs) * 1000)) });
  }

  /** The spans recorded since the last call. */
  take(): SpanLike[] {
    const out = this.spans;
    this.spans = [];
    return out;
  }
}

interface TraceEvent {
  name: string;
  ph: 'X' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

/**
 * Builds a Chrome trace (the JSON chrome://tracing and Perfetto open): one row
 * per worker rank, one complete event per span, times relative to the first span
 * so the numbers stay readable.
 */
export class TraceBuilder {
  private readonly events: TraceEvent[] = [];
  private readonly ranks = new Set<number>();
  private origin = Number.POSITIVE_INFINITY;

  add(rank: number, step: number, spans: readonly SpanLike[]): void {
    this.ranks.add(rank);
    for (const s of spans) {
      this.origin = Math.min(this.origin, s.start);
      const name = s.phase ? `${s.name} ${s.phase.toUpperCase()}` : s.name;
      this.events.push({ name, cat: s.name, ph: 'X', pid: 1, tid: rank, ts: s.start, dur: s.dur, args: { step } });
    }
  }

  get size(): number {
    return this.events.length;
  }

  toJSON(): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
    const origin = Number.isFinite(this.origin) ? this.origin : 0;
    const meta: TraceEvent[] = [
      { name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'trainer workers' } },
      ...[...this.ranks].sort((a, b) => a - b).flatMap((rank): TraceEvent[] => [
        { name: 'thread_name', ph: 'M', pid: 1, tid: rank, args: { name: `worker ${rank}` } },
        { name: 'thread_sort_index', ph: 'M', pid: 1, tid: rank, args: { sort_index: rank } },
      ]),
    ];
    return { traceEvents: [...meta, ...this.events.map((e) => ({ ...e, ts: (e.ts ?? origin) - origin }))], displayTimeUnit: 'ms' };
  }
}
