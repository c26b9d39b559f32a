import { closeSync, fsyncSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Writes via a temporary file and rename, so a reader never sees half a file. */
export function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/**
 * As writeAtomic, and durable (`data` may be the file's parts in order): the data reaches the disk before the rename,
 * and the rename before this returns, so a crash or power loss leaves either
 * the old file or the whole new one.
 */
export function writeDurable(file: string, data: Buffer | readonly Buffer[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    // The parts one after another: a file of several large parts needs no joined copy of them.
    for (const part of Buffer.isBuffer(data) ? [data] : data) {
      for (let written = 0; written < part.length;) written += writeSync(fd, part, written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
