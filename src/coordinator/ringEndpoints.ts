/** What a worker said about where its ring port listens (its hello). */
export interface RingPort {
  dataEndpoint: string;
  /** An ipc:// endpoint of the same port, and the host id that says who can reach it. */
  ipcEndpoint?: string | undefined;
  hostId?: string | undefined;
  /** It can map POSIX shared memory, and which /dev/shm it sees. */
  sharedMemory?: string | undefined;
}

export type LinkKind = 'ipc' | 'tcp';

/**
 * The endpoint each rank's predecessor connects to, in rank order: the rank's
 * ipc:// endpoint where the predecessor registered the same host id (a Unix
 * socket instead of loopback TCP), its TCP endpoint otherwise. kinds[r] is the
 * kind of the link into rank r.
 */
export function ringEndpoints(ranks: readonly RingPort[]): { endpoints: string[]; kinds: LinkKind[] } {
  const n = ranks.length;
  const kinds = ranks.map((r, i): LinkKind => {
    const prev = ranks[(i - 1 + n) % n]!;
    return n > 1 && r.ipcEndpoint && r.hostId !== undefined && prev.hostId === r.hostId ? 'ipc' : 'tcp';
  });
  return { endpoints: ranks.map((r, i) => (kinds[i] === 'ipc' ? r.ipcEndpoint! : r.dataEndpoint)), kinds };
}

/** "rank 0 -> 1 ipc, 1 -> 0 tcp": the links as a log line shows them. */
export function describeLinks(kinds: readonly LinkKind[]): string {
  const n = kinds.length;
  return kinds.map((k, i) => `${(i - 1 + n) % n} -> ${i} ${k}`).join(', ');
}

/**
 * Why the ranks of a generation cannot all-reduce through one shared-memory
 * segment, if so: they must all have registered the same host id (hostId.ts),
 * be able to map shared memory and see the same /dev/shm (sharedMemoryDomain).
 */
export function sharedMemoryRefusal(ranks: readonly RingPort[]): string | undefined {
  if (ranks.length < 2) return 'a single rank';
  const unknown = ranks.flatMap((r, i) => (r.hostId === undefined ? [i] : []));
  if (unknown.length > 0) return `rank ${unknown.join(', ')} did not say which host it is on`;
  const hosts = new Set(ranks.map((r) => r.hostId));
  if (hosts.size > 1) return `the ranks are on ${hosts.size} hosts`;
  const unable = ranks.flatMap((r, i) => (r.sharedMemory ? [] : [i]));
  if (unable.length > 0) return `rank ${unable.join(', ')} cannot map shared memory (its log says why)`;
  if (new Set(ranks.map((r) => r.sharedMemory)).size > 1) return 'the ranks see different /dev/shm (mount namespaces)';
  return undefined;
}
