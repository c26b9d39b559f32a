import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, errorMessage } from '../shared/errors.js';
import type { PortChoice } from '../shared/transport/httpServer.js';

// Checks of command-line flags, shared by the commands and the launch plan: one message per kind of mistake.

/** Parsed flags as yargs hands them over (camelCase keys). */
export type Args = Record<string, unknown>;

export function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

export function nonNegInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

export function inRange(name: string, v: unknown, lo: number, hi: number, loOpen: boolean, hiOpen: boolean): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
  if (!ok) throw new ConfigError(`--${name} must be in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${JSON.stringify(v)}`);
  return v as number;
}

export function port(name: string, v: unknown, allowZero: boolean): number {
  const p = nonNegInt(name, v);
  if (p > 65535 || (!allowZero && p === 0)) throw new ConfigError(`--${name} must be a TCP port (${allowZero ? 0 : 1}-65535), got ${p}`);
  return p;
}

/** --curve-keys, as an absolute path. */
export const keysDir = (a: Args): string | undefined => (a.curveKeys === undefined ? undefined : path.resolve(String(a.curveKeys)));

/** --metrics-port, unless --no-metrics; `fallback`: the ports to try when none was given. */
export function metricsEndpoint(a: Args, host: string, fallback?: { first: number; count: number }): PortChoice | undefined {
  if (a.metrics === false) return undefined;
  if (a.metricsPort === undefined && fallback) return { host, port: fallback.first, lastPort: fallback.first + fallback.count - 1 };
  return { host, port: port('metrics-port', a.metricsPort, true) };
}

/** Fails before training if --out cannot be written, rather than after. */
export function ensureWritableDir(dir: string): void {
  try {
    // One level at a time: Node 20's recursive mkdir never returns on some paths (under /proc, for one).
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) mkdirSync(d);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError(`--out ${dir} is not a writable directory (${errorMessage(err)})`);
  }
}
