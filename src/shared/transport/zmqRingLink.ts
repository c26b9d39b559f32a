import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as zmq from 'zeromq';
import { decode, encode } from '../codec.js';
import { GenerationAborted, TimeoutError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { KeyedInbox } from '../keyedInbox.js';
import { PROTOCOL_VERSION, type Chunk, parseChunk } from '../protocol.js';
import { type ChunkTag, type RingLayout, type RingLink, chunkRefusal, describeTag } from '../allreduce/link.js';
import type { WireData } from '../allreduce/compression.js';
import type { PeerLink } from '../allreduce/peerLink.js';
import type { KeyPair } from '../security/curveKeys.js';
import { DropCounter } from './dropCounter.js';
import { SerialSender, receiveLoop } from './zmqFrames.js';
import { PeerSenders, openPush } from './peerSenders.js';

export const RING_ZAP_DOMAIN = 'trainer-ring';

type Key = string;
const keyOf = (gen: number, t: ChunkTag): Key => `${gen}/${t.step}/${t.phase}/${t.seq}`;
const genAndStep = (key: Key): [number, number] => {
  const [gen, step] = key.split('/', 2);
  return [Number(gen), Number(step)];
};

/**
 * The ring over ZeroMQ: a PULL socket this rank binds (its advertised data
 * endpoint) and a PUSH socket connected to the successor's. PUSH/PULL over one
 * connection keeps the predecessor's chunks in order.
 *
 * Chunks carry the membership generation. After a change the ring is re-formed
 * with begin(): a fresh sending socket to the new successor, stale chunks of older
 * generations dropped, and chunks of a newer one (a peer that started it first)
 * parked until this rank gets there. abort() ends the current generation's waits.
 *
 * What may wait is bounded by bytes: chunkRefusal (allreduce/link.ts) admits only
 * chunks of the window, of sequence numbers and sizes an all-reduce of the
 * layout (expect()) can send, up to one window's bytes for this generation and
 * one for all later ones together. The rest is dropped and counted.
 */
export class ZmqRingLink implements RingLink, PeerLink {
  private readonly pull: zmq.Pull | zmq.Router;
  private push: zmq.Push | zmq.Dealer | undefined;
  private sender: SerialSender | undefined;
  /** Chunks parked by tag: a stray, late or repeated frame is dropped, never mistaken for the one awaited. */
  private readonly inbox = new KeyedInbox<Key, Chunk>((c) => c.data.byteLength);
  /** Bytes parked for generations after this one. */
  private laterBytes = 0;
  private layout: RingLayout | undefined;
  private world = 1;
  private lastTaken: ChunkTag | undefined;
  /** Steps completed before this generation started (a resumed run's checkpoint step, or the last step before a membership change). */
  private stepsDone = 0;
  private gen = 0;
  private abortedGen = 0;
  private closedWith: Error | undefined;
  private readonly drops: DropCounter;
  private loop: Promise<void> | undefined;
  private prevRank = -1;
  private ipcDir: string | undefined;
  /** Peer-to-peer algorithms: this generation's roster and the sockets opened to its ranks so far (peerSenders.ts). */
  private peers: PeerSenders | undefined;
  bytesSent = 0;
  bytesReceived = 0;

  /** With `curve`, the data port serves CURVE and asks ZAP (domain RING_ZAP_DOMAIN) whom to admit. */
  constructor(private readonly logger: Logger, public timeoutMs: number, private readonly curve?: KeyPair) {
    // zeromq.js 6.8 does not deliver multipart messages with large parts from PUSH to PULL under CURVE
    // (the send fails with EAGAIN); DEALER to ROUTER does, in order, over the one connection.
    this.pull = curve
      ? new zmq.Router({ linger: 0, curveServer: true, curveSecretKey: curve.secretKey, curvePublicKey: curve.publicKey, zapDomain: RING_ZAP_DOMAIN })
      : new zmq.Pull({ linger: 0 });
    this.drops = new DropCounter(logger, 'ring chunk');
  }

  get dropped(): number {
    return this.drops.total;
  }

  /** Binds the data port; returns the port actually bound (for `:0`/`*`). */
  async bind(endpoint: string): Promise<number> {
    await this.pull.bind(endpoint);
    const last = this.pull.lastEndpoint ?? '';
    const port = Number(last.slice(last.lastIndexOf(':') + 1));
    this.loop = receiveLoop(this.pull, (frames) => this.onFrames(frames));
    return port;
  }

  /**
   * Binds the data port a second time on a Unix socket in a fresh private
   * directory (mode 0700: only this user can connect), for a predecessor on
   * the same host; under CURVE it serves and authenticates exactly as the TCP
   * endpoint does. Returns the ipc:// endpoint. Call after bind().
   */
  async bindIpc(): Promise<string> {
    this.ipcDir = mkdtempSync(path.join(os.tmpdir(), 'trainer-ring-'));
    const endpoint = `ipc://${path.join(this.ipcDir, 'ring.sock')}`;
    await this.pull.bind(endpoint);
    return endpoint;
  }

  /** The all-reduces to expect; until then every chunk is refused (nobody can have been told to send one). */
  expect(layout: RingLayout): void {
    this.layout = layout;
  }

  /**
   * Starts generation `gen` of `world` ranks after step `stepsDone`: receives from
   * rank `prevRank`, sends to `next` (none in a world of one; `next.key` is the
   * successor's CURVE key).
   */
  begin(gen: number, stepsDone: number, world: number, prevRank: number, next?: { endpoint: string; key?: string | undefined }): void {
    if (gen <= this.gen) throw new RangeError(`ring generation ${gen} does not follow ${this.gen}`);
    this.gen = gen;
    this.world = world;
    this.stepsDone = stepsDone;
    this.lastTaken = undefined;
    this.prevRank = prevRank;
    this.inbox.prune((key) => {
      const [g, step] = genAndStep(key);
      return g < gen || step <= stepsDone;
    });
    this.laterBytes = this.inbox.weight((key) => genAndStep(key)[0] > gen);
    // A new socket per generation: what the old one still queues for a lost successor goes nowhere.
    this.push?.close();
    this.push = undefined;
    this.sender = undefined;
    this.peers?.close();
    this.peers = undefined;
    if (!next) return;
    this.push = openPush(next, this.curve);
    this.sender = new SerialSender(this.push);
  }

  /**
   * For peer-to-peer algorithms: the endpoints (and CURVE keys) of every rank of
   * the generation begin() started, this rank being `rank`. Sockets to ranks
   * other than the successor open on first use and close with the generation.
   */
  roster(rank: number, peers: readonly { endpoint: string; key?: string | undefined }[]): void {
    this.peers = new PeerSenders(rank, peers, this.curve);
  }

  /** Abandons generation `gen`: its current and later waits fail with GenerationAborted until begin() moves on. */
  abort(gen: number): void {
    this.abortedGen = Math.max(this.abortedGen, gen);
    if (gen >= this.gen) this.inbox.rejectWaiting(() => true, new GenerationAborted(this.gen));
  }

  private onFrames(received: Buffer[]): void {
    // A ROUTER (CURVE mode) puts the sender's routing id first.
    const frames = this.curve ? received.slice(1) : received;
    const from = `ring predecessor (rank ${this.prevRank})`;
    try {
      for (const f of frames) this.bytesReceived += f.byteLength;
      const chunk = parseChunk(decode(frames));
      const later = chunk.gen > this.gen;
      const parked = later ? this.laterBytes : this.inbox.weight() - this.laterBytes;
      const at = { gen: this.gen, world: this.world, lastTaken: this.lastTaken, stepsDone: this.stepsDone };
      const why = chunkRefusal({ ...chunk, elements: chunk.data.length }, at, this.layout, parked);
      if (why) this.drops.drop(from, why);
      else if (!this.inbox.put(keyOf(chunk.gen, chunk), chunk)) this.drops.drop(from, `duplicate ${describeTag(chunk)}`);
      // Nobody waits for a later generation's chunk yet: it was parked.
      else if (later) this.laterBytes += chunk.data.byteLength;
    } catch (err) {
      this.drops.drop(from, errorMessage(err));
    }
  }

  async sendNext(tag: ChunkTag, data: WireData): Promise<void> {
    if (!this.sender) throw new Error(`ring generation ${this.gen} has no successor to send to`);
    // zeromq.js sends frames over 128 bytes zero-copy; RingLink's contract makes that safe.
    const frames = encode({ t: 'chunk', v: PROTOCOL_VERSION, gen: this.gen, ...tag, data });
    for (const f of frames) this.bytesSent += f.byteLength;
    await this.sender.send(frames);
  }

  async recvPrev(tag: ChunkTag): Promise<WireData> {
    return this.recv(this.prevRank, tag);
  }

  /** PeerLink: to the successor over its ring socket, to other ranks of the roster over their own. */
  async send(to: number, tag: ChunkTag, data: WireData): Promise<void> {
    if (to === this.peers?.successor || !this.peers) return this.sendNext(tag, data);
    const frames = encode({ t: 'chunk', v: PROTOCOL_VERSION, gen: this.gen, ...tag, data });
    for (const f of frames) this.bytesSent += f.byteLength;
    await this.peers.sender(to).send(frames);
  }

  /** PeerLink: chunks are keyed by tag, whoever sent them (PeerLink's contract makes tags unique per receiver). */
  async recv(from: number, tag: ChunkTag): Promise<WireData> {
    this.assertLive();
    const chunk = await this.inbox.take(keyOf(this.gen, tag), this.timeoutMs, () => new TimeoutError(`all-reduce: no ${describeTag(tag)} from rank ${from} within ${this.timeoutMs} ms`));
    this.lastTaken = tag;
    return chunk.data;
  }

  /** Throws what a wait of this generation would meet now: the error the link was closed with, or GenerationAborted. */
  assertLive(): void {
    if (this.closedWith) throw this.closedWith;
    if (this.abortedGen >= this.gen) throw new GenerationAborted(this.gen);
  }

  /** Ends the current and any later wait for a chunk with `err`. */
  fail(err: Error): void {
    this.closedWith ??= err;
    this.inbox.close(err);
  }

  async close(): Promise<void> {
    this.fail(new Error('ring link closed'));
    this.push?.close();
    this.peers?.close();
    this.pull.close();
    if (this.ipcDir) rmSync(this.ipcDir, { recursive: true, force: true });
    await this.loop?.catch((err: unknown) => this.logger.log('debug', `ring receive loop ended: ${errorMessage(err)}`));
  }
}
