/**
 * bench:scale, its second half — the coordinator's own cost per step as N grows: the real
 * coordinator (`trainer coordinator`, its own process) driven by N protocol-level fake workers
 * (test/fixtures/fakeWorkers.ts: the real wire protocol, no TensorFlow.js, no all-reduce) on
 * loopback, for N = 16, 64, 256 and both --data modes. The fakes answer each step at once, so the
 * coordinator runs flat out and its CPU per step is what it spends per step, nothing else.
 *
 * CPU: utime + stime of the coordinator process from /proc/PID/stat, read from outside at the
 * start and end of a window of steps after a warm-up. That is every thread of it (the main
 * thread, ZeroMQ's I/O thread, libuv's pool, the garbage collector) and needs nothing of the
 * coordinator; its unit is a clock tick (10 ms), so each window is long enough for ticks to
 * matter little (the quantum is in each line). The window opens when rank 0 receives the
 * shipment of step W + prefetch (the coordinator ships it as step W completes; with --data local
 * it arrives in a go-ahead granting several steps, sent some steps earlier, and the window's end
 * is offset alike, so the window still spans S completed steps) and closes at W + S + prefetch.
 * Bytes: what the fakes received from and sent to the coordinator over the same window (every
 * frame on the control and heartbeat connections, without ZeroMQ's envelope), per step; and
 * summary.json's shipped image bytes per step, over the whole run.
 *
 * Prints one JSON line per cell and a summary line; --json FILE also writes them there, and
 * --svg DIR draws CPU per step and bytes per step against N. Timed on this machine: say whether
 * it was loaded.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STEP_RECORDS_FILE } from '../src/coordinator/stepRecords.js';
import type { Summary } from '../src/coordinator/summary.js';
import { renderLineChart } from '../src/shared/plots/lineChart.js';
import { FAKE_STATE_HASH, FakeWorkers } from '../test/fixtures/fakeWorkers.js';

// --cli PATH: another build's dist/src/cli.js, to compare coordinators against the same fakes.
const CLI_ARG = process.argv.includes('--cli') ? process.argv[process.argv.indexOf('--cli') + 1] : undefined;
const CLI = CLI_ARG ? path.resolve(CLI_ARG) : fileURLToPath(new URL('../src/cli.js', import.meta.url));
const DATA_MODES = ['coordinator', 'local'] as const;
type DataMode = (typeof DATA_MODES)[number];
const PREFETCH = 2;
const BATCH = 64;
const TARGET_LOCAL_MS_AT_256 = 5;
const CLOCK_TICK_MS = 10;

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const worlds = (flag('--worlds') ?? '16,64,256').split(',').map(Number);
const modes = (flag('--data') ?? DATA_MODES.join(',')).split(',') as DataMode[];
const warmup = Number(flag('--warmup') ?? 50);
/** Steps in the timed window; by default more for small N, whose steps cost less, so clock ticks matter little. */
const windowFor = (world: number): number => Number(flag('--window') ?? Math.max(300, Math.round(32_000 / world)));
const coordinatorFlags = (flag('--coordinator-flags') ?? '').split(' ').filter((a) => a !== '');
/** Node's own flags for the coordinator process, e.g. "--cpu-prof --cpu-prof-dir DIR" to profile it. */
const nodeFlags = (flag('--node-flags') ?? '').split(' ').filter((a) => a !== '');
if (worlds.some((n) => !Number.isInteger(n) || n < 1 || n > 1024)) throw new Error(`--worlds takes integers 1-1024, got ${flag('--worlds')}`);
if (modes.some((m) => !DATA_MODES.includes(m))) throw new Error(`--data takes coordinator and/or local, got ${flag('--data')}`);
if (!(warmup >= 1)) throw new Error(`--warmup takes a positive step count, got ${flag('--warmup')}`);

interface Cell {
  workers: number;
  data: DataMode;
  steps: number;
  windowSteps: number;
  cpuMsPerStep: number;
  /** One clock tick over the window: the resolution of cpuMsPerStep. */
  cpuQuantumMsPerStep: number;
  /** Coordinator -> workers and workers -> coordinator, per step, over the window. */
  bytesOutPerStep: number;
  bytesInPerStep: number;
  /** summary.json's shipped image bytes over the run, per step. */
  shippedBytesPerStep: number;
  stepsPerSecond: number;
}

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

async function measure(workers: number, data: DataMode): Promise<Cell> {
  const windowSteps = windowFor(workers);
  const steps = warmup + windowSteps + PREFETCH + 5;
  const out = mkdtempSync(path.join(tmpdir(), 'trainer-bench-coordinator-'));
  const child = spawn(process.execPath, [...nodeFlags, CLI, 'coordinator', '--workers', String(workers), '--port', '0', '--bind', '127.0.0.1', '--out', out, '--log-format', 'json',
    '--steps', String(steps), '--batch-size', String(BATCH), '--data', data, '--prefetch', String(PREFETCH), '--sample-every', '0', '--checkpoint-every', '0',
    '--metrics-port', '0', '--timeout', '120', ...coordinatorFlags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-200_000); });
  child.stderr.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-200_000); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let fakes: FakeWorkers | undefined;
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const e = /"endpoint":"(tcp:\/\/[^"]+)"/.exec(log)?.[1];
        if (e) { clearInterval(timer); resolve(e); }
      }, 50);
      void exited.then((code) => { clearInterval(timer); reject(new Error(`coordinator exited (${code}) before listening:\n${log.slice(-2000)}`)); });
    });
    fakes = new FakeWorkers(endpoint, workers);
    const STEP_WAIT_MS = 600_000;
    await fakes.shipped(warmup + PREFETCH, STEP_WAIT_MS);
    const cpu0 = cpuMs(child.pid!);
    const bytes0 = fakes.bytes();
    const t0 = performance.now();
    await fakes.shipped(warmup + windowSteps + PREFETCH, STEP_WAIT_MS);
    const cpu1 = cpuMs(child.pid!);
    const bytes1 = fakes.bytes();
    const t1 = performance.now();
    const shutdowns = await fakes.finished;
    const code = await exited;
    if (code !== 0 || !shutdowns.every((s) => s.ok)) throw new Error(`coordinator exited with ${code}:\n${log.slice(-2000)}`);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    // A run that did not do what was asked is not a measurement: every step completed, in order, every report sent.
    const completed = readFileSync(path.join(out, STEP_RECORDS_FILE), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    if (completed.length !== steps || completed.some((s, i) => s !== i + 1) || summary.replicaHash !== FAKE_STATE_HASH || fakes.reported().some((n) => n !== steps)) {
      throw new Error(`the run is not the one asked for: ${completed.length} of ${steps} steps completed, hash ${summary.replicaHash}, reports ${fakes.reported().join(',')}`);
    }
    return {
      workers, data, steps, windowSteps,
      cpuMsPerStep: (cpu1 - cpu0) / windowSteps,
      cpuQuantumMsPerStep: CLOCK_TICK_MS / windowSteps,
      bytesOutPerStep: (bytes1.received - bytes0.received) / windowSteps,
      bytesInPerStep: (bytes1.sent - bytes0.sent) / windowSteps,
      shippedBytesPerStep: summary.shipped.bytes / steps,
      stepsPerSecond: windowSteps / ((t1 - t0) / 1000),
    };
  } finally {
    child.kill('SIGKILL');
    await fakes?.close();
    rmSync(out, { recursive: true, force: true });
  }
}

/** Least-squares slope of log(cpu) against log(N): 1 is linear growth. */
function logLogSlope(points: Array<[number, number]>): number {
  const xs = points.map(([n]) => Math.log(n));
  const ys = points.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return num / den;
}

const lines: string[] = [];
const emit = (o: object): void => {
  const line = JSON.stringify(o);
  lines.push(line);
  process.stdout.write(`${line}\n`);
};
// --plot FILE: draw the charts from an earlier run's lines (--json) instead of measuring.
const plotFrom = flag('--plot');
const readCells = (file: string | undefined): Cell[] => (file === undefined ? [] : readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{"bench":"scale-coordinator"')).map((l) => JSON.parse(l) as Cell));
const cells: Cell[] = readCells(plotFrom);
for (const data of plotFrom === undefined ? modes : []) {
  for (const workers of worlds) {
    const cell = await measure(workers, data);
    cells.push(cell);
    emit({ bench: 'scale-coordinator', ...cell });
    process.stderr.write(`--data ${data.padEnd(11)} N ${String(workers).padStart(4)}: ${cell.cpuMsPerStep.toFixed(3)} ms CPU/step, ${Math.round(cell.bytesOutPerStep)} B/step out, ${Math.round(cell.bytesInPerStep)} B/step in, ${cell.stepsPerSecond.toFixed(0)} steps/s\n`);
  }
}

const growth = (plotFrom === undefined ? modes : []).map((data) => {
  const at = cells.filter((c) => c.data === data).sort((a, b) => a.workers - b.workers);
  const pts = at.map((c): [number, number] => [c.workers, c.cpuMsPerStep]);
  // Exponent between successive N: log(c2/c1) / log(N2/N1); at most 1 is at most linear.
  const exponents = at.slice(1).map((c, i) => ({ from: at[i]!.workers, to: c.workers, exponent: Math.log(c.cpuMsPerStep / at[i]!.cpuMsPerStep) / Math.log(c.workers / at[i]!.workers) }));
  return { data, logLogSlope: pts.length > 1 ? logLogSlope(pts) : undefined, exponents, cpuMsPerStepPerWorker: at.map((c) => ({ workers: c.workers, ms: c.cpuMsPerStep / c.workers })) };
});
const local256 = cells.find((c) => c.data === 'local' && c.workers === 256);
if (plotFrom === undefined) emit({
  bench: 'scale-coordinator-summary', command: `node dist/scripts/benchCoordinatorScale.js ${args.join(' ')}`.trim(), cpu: '/proc/PID/stat utime+stime of the coordinator process', batchSize: BATCH, prefetch: PREFETCH, warmup,
  growth,
  target: { localMsPerStepAt256: TARGET_LOCAL_MS_AT_256, measured: local256?.cpuMsPerStep, met: local256 ? local256.cpuMsPerStep < TARGET_LOCAL_MS_AT_256 : undefined },
  atMostLinear: growth.every((g) => g.exponents.every((e) => e.exponent <= 1)),
});

const jsonFile = flag('--json');
if (jsonFile && plotFrom === undefined) writeFileSync(jsonFile, `${lines.join('\n')}\n`);
const svgDir = flag('--svg');
const baseline = readCells(flag('--baseline'));
if (svgDir) {
  mkdirSync(svgDir, { recursive: true });
  const series = (name: string, data: DataMode, y: (c: Cell) => number): { name: string; points: Array<[number, number]> } =>
    ({ name, points: cells.filter((c) => c.data === data).map((c) => [c.workers, y(c)]) });
  writeFileSync(path.join(svgDir, 'coordinator-cpu.svg'), await renderLineChart({
    title: 'Coordinator CPU per step, N fake workers on loopback (measured)', xTitle: 'workers N', yTitle: 'CPU ms per step', xLog: true, yLog: true, points: true,
    series: [
      ...modes.map((m) => series(`--data ${m}`, m, (c) => c.cpuMsPerStep)),
      // --baseline FILE: another run's lines (--json), drawn beside, e.g. the coordinator before a change.
      ...modes.flatMap((m) => (baseline.some((c) => c.data === m) ? [{ name: `--data ${m}, baseline`, points: baseline.filter((c) => c.data === m).map((c): [number, number] => [c.workers, c.cpuMsPerStep]) }] : [])),
    ],
  }));
  writeFileSync(path.join(svgDir, 'coordinator-bytes.svg'), await renderLineChart({
    title: 'Coordinator bytes per step, N fake workers on loopback (measured)', xTitle: 'workers N', yTitle: 'bytes per step', xLog: true, yLog: true, points: true,
    series: modes.flatMap((m) => [series(`out, --data ${m}`, m, (c) => c.bytesOutPerStep), series(`in, --data ${m}`, m, (c) => c.bytesInPerStep)]),
  }));
}
