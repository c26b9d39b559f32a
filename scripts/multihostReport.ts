/**
 * The report of scripts/multihost.sh: reads the run's summary and each worker's
 * closing log record, checks every replica ended identical to the coordinator's,
 * and prints one JSON line: step and all-reduce times, and the all-reduce's
 * send rate per worker against the link cap. Exits 1 if a replica differs, a
 * worker's record is missing or (with --metrics) a host was not scraped.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type StepStatsSummary as Timing, median } from '../src/worker/stepStats.js';
import { jsonRecords } from '../src/cli/logFormat.js';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string' }, workers: { type: 'string' }, rate: { type: 'string' }, allreduce: { type: 'string' },
    coordinator: { type: 'string' }, metrics: { type: 'string' }, launch: { type: 'string' },
  },
});
const out = a.out!;
const workers = Number(a.workers);

/** `1gbit` → 1e9; undefined without a cap. */
function bitsPerSecond(rate: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)bit$/.exec(rate ?? '');
  if (!m) return undefined;
  return Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6, g: 1e9 } as Record<string, number>)[m[2]!]!;
}

const problems: string[] = [];
const summary = JSON.parse(readFileSync(path.join(out, 'run', 'summary.json'), 'utf8')) as { replicaHash: string; steps: number; globalBatchSize: number; imagesPerSecond: number; backend: string };
const records = (file: string): Array<Record<string, unknown>> => jsonRecords(readFileSync(path.join(out, file), 'utf8'));
const coordinatorLog = records('coordinator.log');
/** Worker i's log: its own file, or (launched over ssh) its lines relayed into the coordinator's. */
const workerLog = (i: number): Array<Record<string, unknown>> =>
  (existsSync(path.join(out, `worker-${i}.log`)) ? records(`worker-${i}.log`) : coordinatorLog.filter((r) => r.launchRank === i));
const finished = Array.from({ length: workers }, (_, i) => {
  const rec = workerLog(i).find((r) => r.msg === 'training finished');
  if (!rec) problems.push(`worker ${i} logged no 'training finished'`);
  else if (rec.hash !== summary.replicaHash) problems.push(`worker ${i} ended with hash ${String(rec.hash)}, the coordinator with ${summary.replicaHash}`);
  return rec;
});
const timings = finished.flatMap((r) => (r?.timing ? [r.timing as Timing] : []));
const scraped = a.metrics === '1' ? ['c', ...Array.from({ length: workers }, (_, i) => `w${i}`)].filter((h) => existsSync(path.join(out, 'metrics', `${h}.txt`))) : [];
if (a.metrics === '1' && scraped.length !== workers + 1) problems.push(`metrics scraped from ${scraped.length} of ${workers + 1} hosts`);

function registeredHosts(): string[] {
  return coordinatorLog.filter((r) => r.source === undefined).flatMap((r) => {
    const m = typeof r.dataEndpoint === 'string' ? /^tcp:\/\/(.+):\d+$/.exec(r.dataEndpoint) : null;
    return m ? [m[1]!] : [];
  }).sort();
}

const med = (k: keyof Timing): number => median(timings.map((t) => t[k]));
const reduceMs = med('medianReduceMs');
const sentBytes = med('medianSentBytes');
const cap = bitsPerSecond(a.rate);
const round = (x: number, d = 2): number => Number(x.toFixed(d));
// Ring: the wire's share of an all-reduce is what follows the first chunk's arrival (before it, the
// worker waits for the slowest rank's compute, not for the network), taken step by step on each worker
// (the median of the differences, not the difference of the medians); the rate is each worker's send
// rate over that share. Star: a worker cannot tell the hub's waiting from the wire, so only a lower
// bound for the hub's link: all the averaged gradients it sent in one whole all-reduce.
const ring = a.allreduce === 'ring';
const wireMs = ring ? med('medianWireMs') : undefined;
const gbps = (bytes: number, ms: number): number => (bytes * 8) / (ms / 1000) / 1e9;
const linkGbps = ring ? gbps(sentBytes, wireMs!) : gbps(sentBytes * workers, reduceMs);
const report = {
  workers,
  // Where the workers said they were: the data endpoints the coordinator registered.
  hosts: { coordinator: a.coordinator, workers: registeredHosts() },
  rate: a.rate,
  allreduce: a.allreduce,
  launch: a.launch ?? 'direct',
  backend: summary.backend,
  steps: summary.steps,
  globalBatch: summary.globalBatchSize,
  imagesPerSecond: round(summary.imagesPerSecond, 1),
  replicaHash: summary.replicaHash,
  replicasIdentical: problems.every((p) => !p.includes('hash')) && finished.every(Boolean),
  stepMs: round(med('medianStepMs')),
  computeMs: round(med('medianComputeMs')),
  allreduceMs: round(reduceMs),
  ...(ring ? { allreduceWireMs: round(wireMs!) } : {}),
  /** Bytes one worker sent for the step's two all-reduces. */
  sentBytesPerStep: sentBytes,
  /** Ring: a worker's send rate while its all-reduce was on the wire. Star: the hub's send rate over whole all-reduces (a lower bound). */
  linkGbps: round(linkGbps, 3),
  ...(cap === undefined ? {} : { capGbps: cap / 1e9, ofCap: round(linkGbps / (cap / 1e9), 3) }),
  metricsScraped: scraped,
  problems,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(problems.length === 0 ? 0 : 1);
