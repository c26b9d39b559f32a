import type { LogFields, LogLevel, LogSink } from '../shared/logger.js';

export type LogFormat = 'human' | 'json';

/** A number for people: fixed digits, '?' when it is not a finite number. */
export const num = (v: unknown, digits: number): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '?');

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** One readable line per training progress record. */
function humanStep(f: LogFields): string {
  const step = Number(f.step);
  const steps = Number(f.steps);
  const rate = Number(f.imagesPerSecond);
  const perStep = Number(f.computeMs) + Number(f.reduceMs);
  const eta = Number.isFinite(perStep) && perStep > 0 ? ((steps - step) * perStep) / 1000 : NaN;
  return `step ${String(step).padStart(String(steps).length)}/${steps}  epoch ${f.epoch}  d_loss ${num(f.dLoss, 4)}  g_loss ${num(f.gLoss, 4)}  D(x) ${num(f.dReal, 3)}  D(G(z)) ${num(f.dFake, 3)}  ${num(rate, 0)} img/s  ETA ${duration(eta)}${f.slowestRank === undefined ? '' : `  slowest: worker ${String(f.slowestRank)}`}`;
}

/** Human lines on a terminal, JSON lines for log collectors and pipes. */
export function createSink(format: LogFormat, component: string, write: (line: string) => void, minLevel: LogLevel = 'info'): LogSink {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return (level, msg, fields) => {
    if (order[level] < order[minLevel]) return;
    if (format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, component, msg, ...fields }));
      return;
    }
    // `source`: a record relayed from another process (a worker launched over ssh).
    const who = typeof fields.source === 'string' ? fields.source
      : component === 'worker' && fields.rank !== undefined ? `${component} ${String(fields.rank)}` : component;
    const tag = level === 'info' ? '' : `${level.toUpperCase()} `;
    write(`[${who}] ${tag}${msg === 'step' ? humanStep(fields) : msg}`);
  };
}

/** The records of `--log-format json` output (lines that are not records, such as a final `trainer:` error, are passed over). */
export function jsonRecords(text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}
