import type { LineChart } from '../shared/plots/lineChart.js';

/** What the charts read from a run directory: its step records and summary.json's evaluation history. */
export interface RunRecords {
  steps: ReadonlyArray<{ step: number; images: number; seconds: number; dLoss: number; gLoss: number }>;
  globalBatchSize: number;
  evaluations: ReadonlyArray<{ step: number; fid: number; fidLogits: number }>;
}

/** At most this many points per series: a long run's SVG stays small, and the eye cannot see more. */
export const MAX_POINTS = 400;

/** Consecutive windows of about equal size, at most `max` of them. */
function windows<T>(items: readonly T[], max: number): T[][] {
  const size = Math.max(1, Math.ceil(items.length / max));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Losses against images seen, each point the mean over a window of steps. */
export function lossesChart(r: RunRecords): LineChart {
  const w = windows(r.steps, MAX_POINTS);
  const mean = (ws: typeof r.steps, k: 'dLoss' | 'gLoss'): number => ws.reduce((a, s) => a + s[k], 0) / ws.length;
  const at = (ws: typeof r.steps): number => ws[ws.length - 1]!.images;
  return {
    title: 'Losses (mean over windows of steps)',
    xTitle: 'images seen',
    yTitle: 'loss',
    series: [
      { name: 'discriminator loss', points: w.map((ws) => [at(ws), mean(ws, 'dLoss')] as const) },
      { name: 'generator loss', points: w.map((ws) => [at(ws), mean(ws, 'gLoss')] as const) },
    ],
  };
}

/**
 * Images per second of training time, over windows of steps. The first step is left out: it includes
 * compilation and warm-up, and its rate would say nothing about the rest.
 */
export function throughputChart(r: RunRecords): LineChart {
  const points: Array<readonly [number, number]> = [];
  let prev = r.steps[0];
  for (const ws of windows(r.steps.slice(1), MAX_POINTS)) {
    const last = ws[ws.length - 1]!;
    const seconds = last.seconds - prev!.seconds;
    if (seconds > 0) points.push([last.images, (last.images - prev!.images) / seconds]);
    prev = last;
  }
  return { title: 'Throughput', xTitle: 'images seen', yTitle: 'images per second', series: [{ name: 'images/s', points }] };
}

/** MNIST-FID (features and logits) against images seen, log scale: it falls by orders of magnitude. */
export function fidChart(r: RunRecords): LineChart {
  const x = (step: number): number => step * r.globalBatchSize;
  return {
    title: 'MNIST-FID during training',
    xTitle: 'images seen',
    yTitle: 'MNIST-FID (log scale)',
    yLog: true,
    points: true,
    series: [
      { name: 'MNIST-FID (features)', points: r.evaluations.map((e) => [x(e.step), e.fid] as const) },
      { name: 'FID (logits)', points: r.evaluations.map((e) => [x(e.step), e.fidLogits] as const) },
    ],
  };
}

/** The charts a run gets: losses and throughput always (when it has steps), FID when evaluations ran. */
export function runCharts(r: RunRecords): Record<string, LineChart> {
  const charts: Record<string, LineChart> = {};
  if (r.steps.length > 0) charts.losses = lossesChart(r);
  if (r.steps.length > 1) charts.throughput = throughputChart(r);
  if (r.evaluations.length > 0) charts.fid = fidChart(r);
  return charts;
}
