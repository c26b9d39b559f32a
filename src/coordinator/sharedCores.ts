/**
 * Node flags for workers spawned on this host. V8 compiles hot code and collects garbage on helper
 * threads besides the one that runs JavaScript. A worker alone on a host of several cores gets that
 * work done on an idle core for free; workers that fill the host's cores get it done on a core another
 * worker is training on, and in a synchronous step every rank then waits for the one interrupted.
 * There `--single-threaded` keeps each worker's compiler and collector on its own thread, where the
 * cost is its own and the same on every rank.
 */
export function sharedCoreFlags(workers: number, cores: number): { flags: string[]; why?: string } {
  if (workers < cores) return { flags: [] };
  return {
    flags: ['--single-threaded'],
    why: `${workers} worker${workers === 1 ? '' : 's'} on ${cores} core${cores === 1 ? '' : 's'}: each runs V8's compiler and garbage collector on its own thread (node --single-threaded), not on a core another worker trains on`,
  };
}
