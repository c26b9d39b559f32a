/** What a worker said about where its ring port listens (its hello). */
export interface RingPort {
  dataEndpoint: string;
  /** An ipc:// endpoint of the same port, and the host id that says who can reach it. */
  ipcEndpoint?: string | undefined;
  hostId?: string | undefined;
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
