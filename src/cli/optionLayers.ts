import { ConfigError } from '../shared/errors.js';
import type { OptionTable } from './options.js';

/**
 * Option values from outside the command line: TRAINER_* environment
 * variables over a --config JSON file. yargs puts the result below the flags
 * and above the defaults, so the precedence is flags > env > file > defaults.
 *
 * One environment or file may serve several commands (a compose file's shared
 * environment, one config for coordinator and workers): a name that is an
 * option of another trainer command is ignored here; a name that is an option
 * of no command is a mistake and an error.
 */
export const ENV_PREFIX = 'TRAINER_';
/** Names the config file itself rather than an option value. */
export const CONFIG_ENV = `${ENV_PREFIX}CONFIG`;

export interface OptionLayers {
  values: Record<string, string | number | boolean>;
  /** Where each value came from, for error messages: `TRAINER_WORKERS`, `config.json`. */
  origins: Map<string, string>;
}

export interface LayerInputs {
  /** Every command's options, by command name and kebab-case flag name. */
  tables: Readonly<Record<string, OptionTable>>;
  /** The command about to run: one of `tables`, and the file section it reads. */
  command: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The parsed --config file, if any, and its path for messages. */
  file?: { path: string; data: unknown };
}

/** What the layers check names against: the command's own options, and those of every command. */
interface Names {
  command: string;
  options: OptionTable;
  allOptions: ReadonlySet<string>;
  commands: readonly string[];
}

/** `--metrics-port` ⇄ `TRAINER_METRICS_PORT`. */
export const envName = (flag: string): string => ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
const flagOfEnv = (name: string): string => name.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '-');
/** Accepts `batchSize` as well as `batch-size` in files. */
const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function layerOptions(inp: LayerInputs): OptionLayers {
  const options = inp.tables[inp.command];
  if (!options) throw new Error(`no options table for command ${inp.command}`);
  const names: Names = {
    command: inp.command, options, commands: Object.keys(inp.tables),
    allOptions: new Set(Object.values(inp.tables).flatMap((t) => Object.keys(t))),
  };
  const values: Record<string, string | number | boolean> = {};
  const origins = new Map<string, string>();
  if (inp.file) {
    for (const [flag, value] of fileEntries(inp.file, names)) {
      values[flag] = value;
      origins.set(flag, inp.file.path);
    }
  }
  for (const [name, raw] of Object.entries(inp.env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_ENV || raw === undefined || raw === '') continue;
    const flag = flagOfEnv(name);
    if (!names.allOptions.has(flag)) throw new ConfigError(`environment variable ${name} names no trainer option (--${flag})`);
    const spec = options[flag];
    if (!spec) continue;
    values[flag] = spec.type === 'boolean' ? envBoolean(name, raw) : raw;
    origins.set(flag, name);
  }
  return { values, origins };
}

/** Top-level keys, then the command's own section, which wins; other commands' sections are only checked. */
function fileEntries({ path, data }: { path: string; data: unknown }, inp: Names): Array<[string, string | number | boolean]> {
  if (!isPlainObject(data)) throw new ConfigError(`--config ${path} must hold a JSON object of option values`);
  const out: Array<[string, string | number | boolean]> = [];
  const take = (obj: Record<string, unknown>, section: string | undefined): void => {
    const where = section === undefined ? '' : `${section}.`;
    for (const [key, value] of Object.entries(obj)) {
      if (section === undefined && inp.commands.includes(key)) continue;
      const flag = kebab(key);
      if (flag === 'config') throw new ConfigError(`--config ${path}: "${where}config" cannot name another config file`);
      const ours = section === undefined || section === inp.command;
      if (section === inp.command ? !inp.options[flag] : !inp.allOptions.has(flag)) {
        throw new ConfigError(`--config ${path}: "${where}${key}" is not an option of ${section === undefined ? "any trainer command" : `trainer ${section}`}`);
      }
      if (!ours || !inp.options[flag]) continue;
      if (typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
        throw new ConfigError(`--config ${path}: "${where}${key}" must be a string, number or boolean, got ${JSON.stringify(value)}`);
      }
      out.push([flag, value]);
    }
  };
  take(data, undefined);
  for (const command of inp.commands) {
    const section = data[command];
    if (section === undefined) continue;
    if (!isPlainObject(section)) throw new ConfigError(`--config ${path}: "${command}" must be an object of that command's options`);
    take(section, command);
  }
  return out;
}

function envBoolean(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(`environment variable ${name} must be true or false, got ${JSON.stringify(raw)}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The --config path from the command line (`--config F`, `--config=F`), else TRAINER_CONFIG. */
export function configPath(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--config') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError('--config needs a file path');
      return next;
    }
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  const fromEnv = env[CONFIG_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/** Adds where a flag's value came from to a `--flag ...` error message, when it was not the command line. */
export function withOrigin(message: string, origins: ReadonlyMap<string, string>, argv: readonly string[]): string {
  const m = /^--([a-z0-9-]+)/.exec(message) ?? /Argument: ([a-z0-9-]+),/.exec(message);
  const flag = m?.[1];
  if (flag === undefined) return message;
  const onCommandLine = argv.some((a) => a === `--${flag}` || a === `--no-${flag}` || a.startsWith(`--${flag}=`));
  const origin = onCommandLine ? undefined : origins.get(flag);
  return origin ? `${message} (from ${origin})` : message;
}
