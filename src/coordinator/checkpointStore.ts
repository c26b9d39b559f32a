import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeDurable } from '../shared/atomicFile.js';
import { ConfigError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { type Checkpoint, checkpointParts, decodeCheckpoint } from './checkpointFormat.js';

const NAME = /^ckpt-(\d{9})\.bin$/;

export const checkpointFile = (step: number): string => `ckpt-${String(step).padStart(9, '0')}.bin`;

/** Checkpoint files in `dir`, newest (highest step) first. */
function listCheckpoints(dir: string): Array<{ step: number; file: string }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const m = NAME.exec(name);
    return m ? [{ step: Number(m[1]), file: path.join(dir, name) }] : [];
  }).sort((a, b) => b.step - a.step);
}

/** Writes checkpoints durably into `dir` and keeps the newest `keep` of them. */
export class CheckpointStore {
  constructor(readonly dir: string, private readonly keep: number) {}

  write(c: Checkpoint): { file: string; bytes: number } {
    mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, checkpointFile(c.step));
    const parts = checkpointParts(c);
    writeDurable(file, parts);
    for (const old of listCheckpoints(this.dir).slice(this.keep)) rmSync(old.file, { force: true });
    return { file, bytes: parts.reduce((n, p) => n + p.length, 0) };
  }
}

/**
 * The newest valid checkpoint under `dir` (a run directory or its checkpoints/
 * folder). Truncated or corrupt files are skipped with a warning; none valid is
 * a ConfigError.
 */
export function loadLatestCheckpoint(dir: string, logger: Logger): { checkpoint: Checkpoint; file: string } {
  const folder = existsSync(path.join(dir, 'checkpoints')) && statSync(path.join(dir, 'checkpoints')).isDirectory() ? path.join(dir, 'checkpoints') : dir;
  const found = listCheckpoints(folder);
  if (found.length === 0) throw new ConfigError(`--resume ${dir}: no checkpoint files (ckpt-NNNNNNNNN.bin) there`);
  for (const { file } of found) {
    try {
      return { checkpoint: decodeCheckpoint(readFileSync(file)), file };
    } catch (err) {
      logger.log('warn', `skipping checkpoint ${file}: ${errorMessage(err)}`, { file });
    }
  }
  throw new ConfigError(`--resume ${dir}: none of the ${found.length} checkpoint files is valid`);
}
