/**
 * Node flags for workers spawned on this host. V8 compiles hot code and collects garbage on helper
 * threads besides the one that runs JavaScript. A worker alone on a host of several cores gets that
 * work done on an idle core for free; workers that fill the host's cores get it done on a core another
 * worker is training on, and in a synchronous step every rank then waits for the one interrupted.
 * There `--single-threaded` keeps each worker's compiler and collector on its own thread, where the
 * cost is its own and the same on every rank; and a young generation of up to 64 MB a half (by
 * default about 16 here) makes fewer of the collector's pauses, each of which now also holds the other ranks.
 */
export function sharedCoreFlags(workers: number, cores: number): { flags: string[]; why?: string } {
  if (workers < cores) return { flags: [] };
  return {
    flags: ['--single-threaded', '--max-semi-space-size=64'],
    why: `${workers} worker${workers === 1 ? '' : 's'} on ${cores} core${cores === 1 ? '' : 's'}: each runs V8's compiler and garbage collector on its own thread (node --single-threaded --max-semi-space-size=64), not on a core another worker trains on`,
  };
}
