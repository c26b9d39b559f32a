import * as zmq from 'zeromq';
import { decode, encode } from '../codec.js';
import { TimeoutError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { KeyedInbox } from '../keyedInbox.js';
import { PROTOCOL_VERSION, type Chunk, parseChunk } from '../protocol.js';
import { type ChunkTag, type RingLink, describeTag, outOfWindow } from '../allreduce/link.js';
import type { KeyPair } from '../security/curveKeys.js';
import { DropCounter } from './dropCounter.js';
import { SerialSender, receiveLoop } from './zmqFrames.js';

export const RING_ZAP_DOMAIN = 'trainer-ring';

const keyOf = (t: ChunkTag): string => `${t.step}/${t.phase}/${t.seq}`;
/** More chunks than two steps of any real ring could park: the rest is junk, and memory stays bounded. */
const MAX_PARKED = 65_536;

/**
 * The ring over ZeroMQ: a PULL socket this rank binds (its advertised data
 * endpoint) and a PUSH socket connected to the successor's. PUSH/PULL over one
 * connection keeps the predecessor's chunks in order.
 */
export class ZmqRingLink implements RingLink {
  private readonly pull: zmq.Pull | zmq.Router;
  private readonly push: zmq.Push | zmq.Dealer;
  private readonly sender: SerialSender;
  /** Chunks parked by tag: a stray, late or repeated frame is dropped, never mistaken for the one awaited. */
  private readonly inbox = new KeyedInbox<string, Chunk>();
  private lastTaken: ChunkTag | undefined;
  /** Steps completed before this process started training (a resumed run's checkpoint step). */
  stepsDone = 0;
  private readonly drops: DropCounter;
  private loop: Promise<void> | undefined;
  private prevRank = -1;
  bytesSent = 0;
  bytesReceived = 0;

  /** With `curve`, the data port serves CURVE and asks ZAP (domain RING_ZAP_DOMAIN) whom to admit. */
  constructor(private readonly logger: Logger, public timeoutMs: number, private readonly curve?: KeyPair) {
    // zeromq.js 6.8 does not deliver multipart messages with large parts from PUSH to PULL under CURVE
    // (the send fails with EAGAIN); DEALER to ROUTER does, in order, over the one connection.
    if (curve) {
      this.pull = new zmq.Router({ linger: 0, curveServer: true, curveSecretKey: curve.secretKey, curvePublicKey: curve.publicKey, zapDomain: RING_ZAP_DOMAIN });
      this.push = new zmq.Dealer({ linger: 1000 });
    } else {
      this.pull = new zmq.Pull({ linger: 0 });
      this.push = new zmq.Push({ linger: 1000 });
    }
    this.sender = new SerialSender(this.push);
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

  /** `nextKey`: the successor's CURVE public key, when the ring uses CURVE. */
  connect(nextEndpoint: string, prevRank: number, nextKey?: string): void {
    this.prevRank = prevRank;
    if (this.curve && nextKey) {
      this.push.curveServerKey = nextKey;
      this.push.curvePublicKey = this.curve.publicKey;
      this.push.curveSecretKey = this.curve.secretKey;
    }
    this.push.connect(nextEndpoint);
  }

  private onFrames(received: Buffer[]): void {
    // A ROUTER (CURVE mode) puts the sender's routing id first.
    const frames = this.curve ? received.slice(1) : received;
    try {
      for (const f of frames) this.bytesReceived += f.byteLength;
      const chunk = parseChunk(decode(frames));
      const why = outOfWindow(chunk, this.lastTaken, 2, this.stepsDone);
      if (why) this.drops.drop(`ring predecessor (rank ${this.prevRank})`, why);
      else if (this.inbox.size >= MAX_PARKED) this.drops.drop(`ring predecessor (rank ${this.prevRank})`, `${MAX_PARKED} chunks already waiting`);
      else if (!this.inbox.put(keyOf(chunk), chunk)) this.drops.drop(`ring predecessor (rank ${this.prevRank})`, `duplicate ${describeTag(chunk)}`);
    } catch (err) {
      this.drops.drop(`ring predecessor (rank ${this.prevRank})`, errorMessage(err));
    }
  }

  async sendNext(tag: ChunkTag, data: Float32Array): Promise<void> {
    // zeromq.js sends frames over 128 bytes zero-copy; RingLink's contract makes that safe.
    const frames = encode({ t: 'chunk', v: PROTOCOL_VERSION, ...tag, data });
    for (const f of frames) this.bytesSent += f.byteLength;
    await this.sender.send(frames);
  }

  async recvPrev(tag: ChunkTag): Promise<Float32Array> {
    const chunk = await this.inbox.take(keyOf(tag), this.timeoutMs, () => new TimeoutError(`all-reduce: no ${describeTag(tag)} from rank ${this.prevRank} within ${this.timeoutMs} ms`));
    this.lastTaken = tag;
    return chunk.data;
  }

  /** Ends the current and any later wait for a chunk with `err`. */
  fail(err: Error): void {
    this.inbox.close(err);
  }

  async close(): Promise<void> {
    this.inbox.close(new Error('ring link closed'));
    this.push.close();
    this.pull.close();
    await this.loop?.catch((err: unknown) => this.logger.log('debug', `ring receive loop ended: ${errorMessage(err)}`));
  }
}
