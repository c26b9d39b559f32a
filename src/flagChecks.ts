import { ConfigError } from './shared/errors.js';

// Checks of numeric command-line flags, shared by the CLI and the launch plan: one message per kind of mistake.

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
