import * as zmq from 'zeromq';
import { decode, encode } from '../shared/codec.js';
import { ConfigError, TimeoutError, errorMessage } from '../shared/errors.js';
import { KeyedInbox } from '../shared/keyedInbox.js';
import type { Logger } from '../shared/logger.js';
import {
  type Batch, type CoordinatorMessage, type Phase, type Reduced, type Reject, type Shutdown, type Start, type Welcome,
  type WorkerMessage, parseCoordinatorMessage,
} from '../shared/protocol.js';
import { type CurveClient, curveClientOptions } from '../shared/security/curveKeys.js';
import { DropCounter } from '../shared/transport/dropCounter.js';
import { SerialSender, receiveLoop } from '../shared/transport/zmqFrames.js';

/** Ends every wait of the worker when the coordinator says stop (or stop with an error). */
export class ShutdownSignal extends Error {
  constructor(readonly shutdown: Shutdown) {
    super(shutdown.ok ? 'coordinator ended the run' : `coordinator stopped the run: ${shutdown.reason}`);
    this.name = 'ShutdownSignal';
  }
}

/** Raised when the coordinator refuses this worker at the handshake. */
export class RejectedError extends Error {
  constructor(readonly reject: Reject) {
    super(`coordinator refused this worker: ${reject.reason}`);
    this.name = 'RejectedError';
  }
}

/**
 * The worker's DEALER connection to the coordinator. Incoming messages are
 * validated and parked by kind: handshake replies, prefetched batches by step,
 * star-reduced gradients by (step, phase).
 */
export class ControlLink {
  private readonly socket: zmq.Dealer;
  private readonly sender: SerialSender;
  private readonly handshake = new KeyedInbox<'welcome' | 'start', Welcome | Start>();
  private readonly batches = new KeyedInbox<number, Batch>();
  private readonly reduced = new KeyedInbox<string, Reduced>();
  private readonly drops: DropCounter;
  private loop: Promise<void> | undefined;
  private shutdownMsg: Shutdown | undefined;
  private shutdownWaiters: Array<(s: Shutdown) => void> = [];
  private shutdownFailures: Array<(e: Error) => void> = [];
  private failedWith: Error | undefined;
  /** Called when the coordinator asks for this replica's state after a step. */
  onCheckpointRequest: ((step: number) => void) | undefined;

  constructor(private readonly logger: Logger, curve?: CurveClient) {
    this.socket = new zmq.Dealer({ linger: 2000, ...curveClientOptions(curve) });
    this.sender = new SerialSender(this.socket);
    this.drops = new DropCounter(logger, 'coordinator frame');
  }

  get dropped(): number {
    return this.drops.total;
  }

  /** Whether connect was called: before that, nothing can be sent. */
  connected = false;

  connect(endpoint: string): void {
    this.socket.connect(endpoint);
    this.connected = true;
    this.loop = receiveLoop(this.socket, (frames) => this.onFrames(frames));
  }

  private onFrames(frames: Buffer[]): void {
    let msg: CoordinatorMessage;
    try {
      msg = parseCoordinatorMessage(decode(frames));
    } catch (err) {
      this.drops.drop('coordinator', errorMessage(err));
      return;
    }
    switch (msg.t) {
      case 'welcome':
      case 'start':
        if (!this.handshake.put(msg.t, msg)) this.drops.drop('coordinator', `duplicate ${msg.t}`);
        break;
      case 'reject':
        this.closeAll(new RejectedError(msg));
        break;
      case 'batch':
        if (!this.batches.put(msg.step, msg)) this.drops.drop('coordinator', `duplicate batch for step ${msg.step}`);
        break;
      case 'reduced':
        if (!this.reduced.put(`${msg.step}/${msg.phase}`, msg)) this.drops.drop('coordinator', `duplicate reduced gradients for step ${msg.step}`);
        break;
      case 'checkpoint':
        this.onCheckpointRequest?.(msg.step);
        break;
      case 'heartbeat':
        // Heartbeats go to the heartbeat thread's own connection; one here is harmless.
        break;
      case 'shutdown':
        this.shutdownMsg = msg;
        this.closeAll(new ShutdownSignal(msg));
        for (const w of this.shutdownWaiters) w(msg);
        this.shutdownWaiters = [];
        break;
    }
  }

  /** Ends every current and future wait with `err` (the coordinator is gone). */
  fail(err: Error): void {
    this.closeAll(err);
    this.failedWith = err;
    for (const w of this.shutdownFailures) w(err);
    this.shutdownFailures = [];
  }

  private closeAll(err: Error): void {
    this.handshake.close(err);
    this.batches.close(err);
    this.reduced.close(err);
  }

  send(msg: WorkerMessage): Promise<void> {
    return this.sender.send(encode(msg));
  }

  waitWelcome(timeoutMs: number, endpoint: string): Promise<Welcome> {
    // Never answered at all: a wrong --coordinator (or keys it does not accept), so a usage error.
    return this.handshake.take('welcome', timeoutMs, () => new ConfigError(`no answer from the coordinator at ${endpoint} within ${timeoutMs} ms (is it running and reachable, and does it accept this worker's CURVE key, if any?)`)) as Promise<Welcome>;
  }

  waitStart(timeoutMs: number): Promise<Start> {
    return this.handshake.take('start', timeoutMs, () => new TimeoutError(`coordinator did not start training within ${timeoutMs} ms`)) as Promise<Start>;
  }

  waitBatch(step: number, timeoutMs: number): Promise<Batch> {
    return this.batches.take(step, timeoutMs, () => new TimeoutError(`no batch for step ${step} from the coordinator within ${timeoutMs} ms`));
  }

  waitReduced(step: number, phase: Phase, timeoutMs: number): Promise<Reduced> {
    return this.reduced.take(`${step}/${phase}`, timeoutMs, () => new TimeoutError(`star all-reduce: no averaged gradients for step ${step} phase ${phase} within ${timeoutMs} ms`));
  }

  /** The coordinator's final word, or a timeout error. */
  waitShutdown(timeoutMs: number): Promise<Shutdown> {
    if (this.shutdownMsg) return Promise.resolve(this.shutdownMsg);
    if (this.failedWith) return Promise.reject(this.failedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`coordinator did not end the run within ${timeoutMs} ms`)), timeoutMs);
      this.shutdownWaiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.shutdownFailures.push((e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  async close(): Promise<void> {
    this.closeAll(new Error('control link closed'));
    // A send to a coordinator that never answered (or was never connected) waits forever: bound it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.sender.drain(), new Promise<void>((resolve) => { timer = setTimeout(resolve, 2000); })]);
    clearTimeout(timer);
    this.socket.close();
    await this.loop?.catch((err: unknown) => this.logger.log('debug', `control receive loop ended: ${errorMessage(err)}`));
  }
}
