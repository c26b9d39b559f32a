import { renameSync, writeFileSync } from 'node:fs';

/** Writes via a temporary file and rename, so a reader never sees half a file. */
export function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
