import type { Hello } from '../shared/protocol.js';

export interface Member {
  peer: string;
  rank: number;
  hello: Hello;
  ready: boolean;
}

export type HelloOutcome = { kind: 'accepted'; rank: number } | { kind: 'rejected'; reason: string };

/**
 * Who is in the run. Ranks are handed out in arrival order; a full world
 * refuses newcomers. Pure: the transport calls it and acts on the outcome.
 */
export class Membership {
  private readonly byPeer = new Map<string, Member>();
  private readonly byRank: Member[] = [];

  /** `requireRingKey`: the run uses CURVE, so every worker must say which key its ring port serves with. */
  constructor(readonly world: number, private readonly options: { requireRingKey?: boolean } = {}) {}

  hello(peer: string, hello: Hello): HelloOutcome {
    const existing = this.byPeer.get(peer);
    if (existing) return { kind: 'rejected', reason: `this connection already registered as rank ${existing.rank}` };
    if (this.byRank.length >= this.world) return { kind: 'rejected', reason: `the run already has its ${this.world} workers` };
    if (this.options.requireRingKey && !hello.curvePublicKey) return { kind: 'rejected', reason: 'this run uses CURVE, and the worker sent no ring key' };
    if (!/^tcp:\/\/[^\s/]+:\d+$/.test(hello.dataEndpoint)) return { kind: 'rejected', reason: `data endpoint ${JSON.stringify(hello.dataEndpoint)} is not tcp://HOST:PORT` };
    const member: Member = { peer, rank: this.byRank.length, hello, ready: false };
    this.byPeer.set(peer, member);
    this.byRank.push(member);
    return { kind: 'accepted', rank: member.rank };
  }

  /** Marks a member ready if its model hash matches; otherwise returns why not. */
  ready(peer: string, modelHash: string, expected: string): { ok: true } | { ok: false; reason: string } {
    const m = this.byPeer.get(peer);
    if (!m) return { ok: false, reason: 'ready before hello' };
    if (modelHash !== expected) {
      return { ok: false, reason: `model/config hash ${modelHash.slice(0, 12)}… differs from the coordinator's ${expected.slice(0, 12)}… (different trainer version or config)` };
    }
    m.ready = true;
    return { ok: true };
  }

  rankOf(peer: string): number | undefined {
    return this.byPeer.get(peer)?.rank;
  }

  peerOf(rank: number): string | undefined {
    return this.byRank[rank]?.peer;
  }

  get complete(): boolean {
    return this.byRank.length === this.world && this.byRank.every((m) => m.ready);
  }

  get registered(): number {
    return this.byRank.length;
  }

  members(): readonly Member[] {
    return this.byRank;
  }

  /** Data endpoints by rank: worker r sends to ring[(r+1) % N]. */
  ring(): string[] {
    return this.byRank.map((m) => m.hello.dataEndpoint);
  }

  /** Ranks that have not yet said ready, for timeout messages. */
  notReady(): number[] {
    const out: number[] = [];
    for (let r = 0; r < this.world; r++) if (!this.byRank[r]?.ready) out.push(r);
    return out;
  }
}
