import * as zmq from 'zeromq';
import { decode, encode } from '../codec.js';
import { TimeoutError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { Mailbox } from '../mailbox.js';
import { PROTOCOL_VERSION, type Chunk, parseChunk } from '../protocol.js';
import { type ChunkTag, type RingLink, describeTag, sameTag } from '../allreduce/link.js';
import { DropCounter } from './dropCounter.js';
import { SerialSender, receiveLoop } from './zmqFrames.js';

/**
 * The ring over ZeroMQ: a PULL socket this rank binds (its advertised data
 * endpoint) and a PUSH socket connected to the successor's. PUSH/PULL over one
 * connection keeps the predecessor's chunks in order.
 */
export class ZmqRingLink implements RingLink {
  private readonly pull = new zmq.Pull({ linger: 0 });
  private readonly push = new zmq.Push({ linger: 1000 });
  private readonly sender = new SerialSender(this.push);
  private readonly inbox = new Mailbox<Chunk>();
  private readonly drops: DropCounter;
  private loop: Promise<void> | undefined;
  private prevRank = -1;
  bytesSent = 0;
  bytesReceived = 0;

  constructor(private readonly logger: Logger, public timeoutMs: number) {
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

  connect(nextEndpoint: string, prevRank: number): void {
    this.prevRank = prevRank;
    this.push.connect(nextEndpoint);
  }

  private onFrames(frames: Buffer[]): void {
    try {
      for (const f of frames) this.bytesReceived += f.byteLength;
      this.inbox.push(parseChunk(decode(frames)));
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
    const chunk = await this.inbox.take(this.timeoutMs, () => new TimeoutError(`all-reduce: no ${describeTag(tag)} from rank ${this.prevRank} within ${this.timeoutMs} ms`));
    if (!sameTag(chunk, tag)) throw new Error(`all-reduce out of step: expected ${describeTag(tag)} from rank ${this.prevRank}, got ${describeTag(chunk)}`);
    return chunk.data;
  }

  async close(): Promise<void> {
    this.inbox.close(new Error('ring link closed'));
    this.push.close();
    this.pull.close();
    await this.loop?.catch((err: unknown) => this.logger.log('debug', `ring receive loop ended: ${errorMessage(err)}`));
  }
}
