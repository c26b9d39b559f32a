import type { Hello } from '../shared/protocol.js';

export interface Member {
  peer: string;
  /** Names the worker for the whole run. */
  id: number;
  hello: Hello;
  ready: boolean;
  /** Ties the worker's heartbeat connection to this registration. */
  session: string;
  /** Rank in the current generation; undefined while waiting to be admitted. */
  rank: number | undefined;
}

export type HelloOutcome = { kind: 'accepted'; member: Member } | { kind: 'rejected'; reason: string };

/**
 * Who is in the run: every registered worker (at most `capacity`), and the
 * roster of the current generation, in rank order. Ids are handed out in
 * arrival order and never reused; a worker that is lost frees its place for a
 * newcomer. Pure: the transport calls it and acts on the outcome.
 */
export class Membership {
  private readonly byPeer = new Map<string, Member>();
  private readonly byId = new Map<number, Member>();
  private current: Member[] = [];
  private nextId = 0;

  /** `requireRingKey`: the run uses CURVE, so every worker must say which key its ring port serves with. */
  constructor(readonly capacity: number, private readonly options: { requireRingKey?: boolean } = {}) {}

  hello(peer: string, hello: Hello, session: string): HelloOutcome {
    const existing = this.byPeer.get(peer);
    if (existing) return { kind: 'rejected', reason: `this connection already registered as worker ${existing.id}` };
    if (this.byId.size >= this.capacity) return { kind: 'rejected', reason: `the run already has its ${this.capacity} workers` };
    if (this.options.requireRingKey && !hello.curvePublicKey) return { kind: 'rejected', reason: 'this run uses CURVE, and the worker sent no ring key' };
    if (!/^tcp:\/\/[^\s/]+:\d+$/.test(hello.dataEndpoint)) return { kind: 'rejected', reason: `data endpoint ${JSON.stringify(hello.dataEndpoint)} is not tcp://HOST:PORT` };
    const member: Member = { peer, id: this.nextId++, hello, ready: false, session, rank: undefined };
    this.byPeer.set(peer, member);
    this.byId.set(member.id, member);
    return { kind: 'accepted', member };
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

  byPeerId(peer: string): Member | undefined {
    return this.byPeer.get(peer);
  }

  get(id: number): Member | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Forgets a lost worker; it leaves the roster too (the generation it was in is being abandoned). */
  remove(id: number): Member | undefined {
    const m = this.byId.get(id);
    if (!m) return undefined;
    this.byId.delete(id);
    this.byPeer.delete(m.peer);
    this.current = this.current.filter((x) => x.id !== id);
    return m;
  }

  /** Makes `members` the new generation's roster, ranked in the order given. */
  form(members: readonly Member[]): void {
    for (const m of this.byId.values()) m.rank = undefined;
    members.forEach((m, rank) => { m.rank = rank; });
    this.current = [...members];
  }

  /** The current generation, in rank order (less any member lost since it formed). */
  roster(): readonly Member[] {
    return this.current;
  }

  /** Every registered worker, in or out of the roster. */
  all(): Member[] {
    return [...this.byId.values()];
  }

  /**
   * Ready workers not in the roster: the ones to admit next. Those that asked
   * for a rank come first, in that order (so a launcher's slot or a pod's
   * index is its rank in the first generation); then the others, oldest first.
   */
  waiting(): Member[] {
    const asked = (m: Member): number => m.hello.rank ?? Number.POSITIVE_INFINITY;
    return [...this.byId.values()].filter((m) => m.ready && !this.current.includes(m)).sort((a, b) => asked(a) - asked(b) || a.id - b.id);
  }

  get registered(): number {
    return this.byId.size;
  }

  get readyCount(): number {
    return [...this.byId.values()].filter((m) => m.ready).length;
  }
}
