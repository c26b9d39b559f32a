import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonRecords } from '../src/cli/logFormat.js';

export const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
/** The repository root (tests run from dist/test/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Default metrics ports (9400, 9401) would collide between the processes of one test: pick free ones unless a test chooses. */
function withFreeMetricsPort(args: string[]): string[] {
  const command = args[0];
  if ((command !== 'coordinator' && command !== 'worker') || args.some((a) => a === '--metrics-port' || a === '--no-metrics' || a === '--help')) return args;
  return [...args, '--metrics-port', '0'];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `file` (with `env` added to ours) and collects its output; kills it and fails if it
 * outlives `timeoutMs` (no test may hang). `label` names it in that failure.
 */
export function runProcess(file: string, args: string[], timeoutMs: number, env: Record<string, string> = {}, label = `${file} ${args.join(' ')}`): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not finish within ${timeoutMs} ms\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** Runs the built CLI (with `env` added to ours); kills it and fails if it outlives `timeoutMs` (no test may hang). */
export function runCli(args: string[], timeoutMs = 120_000, env: Record<string, string> = {}): Promise<CliResult> {
  // A test that sets TRAINER_METRICS_PORT chose the port itself.
  const argv = env.TRAINER_METRICS_PORT === undefined ? withFreeMetricsPort(args) : args;
  return runProcess(process.execPath, [CLI, ...argv], timeoutMs, env, `trainer ${args.join(' ')}`);
}

/**
 * Starts the CLI in the background and hands back the process and its output so far.
 * `defaultPorts`: leave the metrics port to the CLI's default (tests of that default).
 */
export function startCli(args: string[], opts: { defaultPorts?: boolean } = {}): { child: ReturnType<typeof spawn>; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...(opts.defaultPorts ? args : withFreeMetricsPort(args))], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `trainer-${prefix}-`));
}

/** JSON log lines of a run with --log-format json. */
export const jsonLines = jsonRecords;

/** Polls `cond` until it holds; on a timeout the error carries `context()` (say, the processes' output) to diagnose it. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string, context?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context ? `\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Below Linux's ephemeral range (32768-60999): a port from inside it can already be held by any process's outgoing
 * connection or `tcp://*:*` bind (the workers' ring sockets), and the coordinator would then fail to bind it.
 */
let nextPort = 20000 + Math.floor(Math.random() * 12000);
/** A distinct port per use in this process; tests that bind pass it explicitly. */
export function testPort(): number {
  return nextPort++;
}
